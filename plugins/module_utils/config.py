# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The worker's configuration: one reader for the daemon and every module.

The file is kojid's own ``kojid.conf``: its ``[kojid]`` section is read with the
option names and defaults kojid uses, so an operator switching from kojid keeps
the file.  koji-adjutant's own settings live in an ``[adjutant]`` section.  Any
``[adjutant]`` key can be overridden by the environment variable
``KOJI_ADJUTANT_<KEY>`` (upper case), for containerised deployments.

Every value is validated when the file is read; a wrong value raises
:class:`ConfigError` naming the section, the key and what was expected.
"""

from __future__ import annotations

import configparser
import os
import socket

DEFAULT_CONFIG_FILE = "/etc/kojid/kojid.conf"
ENV_PREFIX = "KOJI_ADJUTANT_"


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


def _str(value):
    return value


def _optional_str(value):
    value = value.strip()
    return value or None


def parse_bool(value):
    """A kojid.conf-style boolean (yes/no, true/false, on/off, 1/0); ValueError otherwise."""
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError("expected a boolean (yes/no, true/false, on/off, 1/0)")


def _int(value):
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("expected an integer")


def _float(value):
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError("expected a number")


def _positive(convert):
    def check(value):
        number = convert(value)
        if number <= 0:
            raise ValueError("expected a number greater than 0")
        return number
    return check


def _non_negative(convert):
    def check(value):
        number = convert(value)
        if number < 0:
            raise ValueError("expected a number of 0 or more")
        return number
    return check


def _words(value):
    return value.split()


def _choice(*choices):
    def check(value):
        value = value.strip()
        if value not in choices:
            raise ValueError("expected one of: %s" % ", ".join(choices))
        return value
    return check


def _key_values(value):
    """Parse ``a=1,b=2`` (commas or whitespace) into a dict."""
    result = {}
    for item in value.replace(",", " ").split():
        if "=" not in item:
            raise ValueError("expected key=value items, got %r" % item)
        key, dummy, val = item.partition("=")
        if not key:
            raise ValueError("empty key in %r" % item)
        result[key.strip()] = val.strip()
    return result


def _timeouts(value):
    timeouts = {"pull": 300, "start": 60, "stop_grace": 20}
    for key, val in _key_values(value).items():
        if key not in timeouts:
            raise ValueError("unknown timeout %r (known: %s)" % (key, ", ".join(sorted(timeouts))))
        try:
            timeouts[key] = int(val)
        except ValueError:
            raise ValueError("timeout %s=%r is not an integer" % (key, val))
        if timeouts[key] < 0:
            raise ValueError("timeout %s must not be negative" % key)
    return timeouts


def _mounts(value):
    """Parse ``src:dst[:mode[:label]]`` entries separated by whitespace or commas."""
    mounts = []
    for item in value.replace(",", " ").split():
        parts = item.split(":")
        if len(parts) < 2 or len(parts) > 4 or not parts[0] or not parts[1]:
            raise ValueError("mount %r is not src:dst[:mode[:selinux-label]]" % item)
        if not os.path.isabs(parts[0]) or not os.path.isabs(parts[1]):
            raise ValueError("mount %r must use absolute paths" % item)
        mode = parts[2] if len(parts) > 2 and parts[2] else "ro"
        if mode not in ("ro", "rw"):
            raise ValueError("mount %r: mode must be ro or rw" % item)
        label = parts[3] if len(parts) > 3 else ""
        if label not in ("", "z", "Z"):
            raise ValueError("mount %r: SELinux label must be z or Z" % item)
        mounts.append({"source": parts[0], "target": parts[1], "mode": mode, "label": label})
    return mounts


def _bind_address(value):
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host:
        raise ValueError("expected host:port")
    try:
        port_number = int(port)
    except ValueError:
        raise ValueError("port %r is not a number" % port)
    if not 0 < port_number < 65536:
        raise ValueError("port %d is out of range" % port_number)
    return (host.strip("[]"), port_number)


# (key, converter, default).  Defaults are kojid's where kojid has the option.
KOJID_OPTIONS = (
    ("server", _str, "http://hub.example.com/kojihub"),
    ("user", _optional_str, None),
    ("password", _optional_str, None),
    ("cert", _optional_str, None),
    ("serverca", _optional_str, None),
    ("krb_principal", _optional_str, None),
    ("host_principal_format", _str, "compile/%s@EXAMPLE.COM"),
    ("keytab", _optional_str, None),
    ("ccache", _str, "/var/tmp/kojid.ccache"),
    ("no_ssl_verify", parse_bool, False),
    ("krb_rdns", parse_bool, True),
    ("krb_canon_host", parse_bool, False),
    ("retry_interval", _non_negative(_int), 60),
    ("max_retries", _non_negative(_int), 120),
    ("offline_retry", parse_bool, True),
    ("offline_retry_interval", _non_negative(_int), 120),
    ("timeout", _optional_str, None),
    ("auth_timeout", _optional_str, None),
    ("use_fast_upload", parse_bool, True),
    ("sleeptime", _positive(_float), 15.0),
    ("maxjobs", _positive(_int), 10),
    ("minspace", _non_negative(_int), 8192),
    ("topdir", _str, "/mnt/koji"),
    ("topurl", _words, []),
    ("workdir", _str, "/var/tmp/koji"),
    ("packager", _str, "Koji"),
    ("vendor", _str, "Koji"),
    ("distribution", _str, "Koji"),
    ("mockhost", _str, "koji-linux-gnu"),
    ("mockuser", _str, "kojibuilder"),
    ("rpmbuild_timeout", _positive(_int), 86400),
    ("yum_proxy", _optional_str, None),
    ("literal_task_arches", _words, []),
    ("support_rpm_source_layout", parse_bool, True),
    ("build_arch_can_fail", parse_bool, False),
    ("allowed_scms", _str, ""),
    ("allowed_scms_use_config", parse_bool, True),
    ("allowed_scms_use_policy", parse_bool, False),
    ("allow_password_in_scm_url", parse_bool, False),
    ("scm_credentials_dir", _optional_str, None),
    ("use_createrepo_c", parse_bool, True),
    ("createrepo_skip_stat", parse_bool, True),
    ("createrepo_update", parse_bool, True),
    ("copy_old_repodata", parse_bool, False),
    ("distrepo_skip_stat", parse_bool, False),
    ("smtphost", _str, "example.com"),
    ("smtp_user", _optional_str, None),
    ("smtp_pass", _optional_str, None),
    ("from_addr", _str, "Koji Build System <buildsys@example.com>"),
    ("admin_emails", _words, []),
    ("log_level", _optional_str, None),
    ("log_timestamps", parse_bool, False),
    ("plugin", _words, []),
    ("pluginpath", _str, "/usr/lib/koji-builder-plugins"),
)

# koji-adjutant's own settings ([adjutant] section).
ADJUTANT_OPTIONS = (
    ("task_image_default", _str, "localhost/koji-adjutant-buildroot:bookworm"),
    ("image_pull_policy", _choice("if-not-present", "always", "never"), "if-not-present"),
    ("policy_enabled", parse_bool, True),
    ("policy_cache_ttl", _non_negative(_int), 300),
    ("buildroot_enabled", parse_bool, True),
    ("network_enabled", parse_bool, True),
    ("container_mounts", _mounts, []),
    ("container_labels", _key_values, {}),
    ("container_timeouts", _timeouts, {"pull": 300, "start": 60, "stop_grace": 20}),
    ("container_user", _str, "kojibuilder"),
    ("container_pids_limit", _non_negative(_int), 4096),
    ("container_memory", _optional_str, None),
    ("container_cpus", _optional_str, None),
    ("container_cgroupns", _choice("", "private", "host"), ""),
    ("monitoring_enabled", parse_bool, False),
    ("monitoring_bind", _bind_address, ("127.0.0.1", 8080)),
    ("worker_id", _optional_str, None),
    ("capacity", _optional_str, None),
    ("heartbeat_interval", _positive(_float), 30.0),
    ("state_dir", _str, "/var/lib/koji-adjutant"),
    ("log_dir", _str, "/var/log/koji-adjutant"),
    ("playbook_dir", _optional_str, None),
    ("collections_path", _optional_str, None),
    ("force_lock", parse_bool, False),
    ("log_upload_interval", _positive(_float), 1.0),
    ("subtask_poll_interval", _positive(_float), 2.0),
    ("waitrepo_poll_interval", _positive(_int), 60),
    ("buildroot_cache", parse_bool, True),
    ("buildroot_cache_max_images", _positive(_int), 20),
    # mock's dynamic_buildrequires_max_loops: rounds of rpmbuild -br and dnf at most
    ("dynamic_buildrequires_max_loops", _positive(_int), 10),
    # kojid's runroot plugin configuration (the same file and format)
    ("runroot_config", _str, "/etc/kojid/plugins/runroot.conf"),
)

# [adjutant] settings of earlier releases that no longer do anything: a kojid.conf (or the
# environment) may still set them; they are accepted with any value, and the daemon warns at
# start-up (WorkerConfig.ignored_settings)
RETIRED_ADJUTANT_OPTIONS = ("module_server", "playbook_server", "playbook_strategy")

_KNOWN_SECTIONS = ("kojid", "adjutant")


class WorkerConfig(object):
    """Validated worker settings; attributes are the option names."""

    def __init__(self, values, path):
        self.__dict__.update(values)
        self.path = path

    # -- derived values -------------------------------------------------
    @property
    def hostname(self):
        """Host name used for host principals and the default worker id."""
        return socket.getfqdn()

    @property
    def worker_name(self):
        return self.worker_id or socket.gethostname()

    @property
    def primary_topurl(self):
        return self.topurl[0] if self.topurl else None

    @property
    def playbook_root(self):
        """Directory holding ``tasks/<method>.yml`` playbooks."""
        if self.playbook_dir:
            return self.playbook_dir
        return os.path.join(collection_root(), "playbooks")

    def session_options(self):
        """Options for ``koji.ClientSession``, as kojid passes them."""
        opts = {
            "user": self.user,
            "password": self.password,
            "cert": self.cert,
            "serverca": self.serverca,
            "no_ssl_verify": self.no_ssl_verify,
            "krb_rdns": self.krb_rdns,
            "krb_canon_host": self.krb_canon_host,
            "retry_interval": self.retry_interval,
            "max_retries": self.max_retries,
            "offline_retry": self.offline_retry,
            "offline_retry_interval": self.offline_retry_interval,
            "use_fast_upload": self.use_fast_upload,
        }
        for key in ("timeout", "auth_timeout"):
            value = getattr(self, key)
            if value is not None:
                opts[key] = int(value)
        return dict((k, v) for k, v in opts.items() if v is not None)

    def as_dict(self):
        data = dict(self.__dict__)
        for secret in ("password", "smtp_pass"):
            if data.get(secret):
                data[secret] = "********"
        return data


def collection_root():
    """The root directory of this collection (where galaxy.yml lives)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(here))


def _convert(section, key, converter, raw):
    try:
        return converter(raw)
    except ValueError as exc:
        raise ConfigError("[%s] %s = %r: %s" % (section, key, raw, exc))


def load_config(path=None, environ=None, overrides=None):
    """Read and validate a kojid.conf with an optional ``[adjutant]`` section.

    :param path: the file (default ``/etc/kojid/kojid.conf``); it must exist.
    :param environ: mapping for ``KOJI_ADJUTANT_<KEY>`` overrides (default os.environ).
    :param overrides: ``{key: raw string}`` applied last (command line options).
    :raises ConfigError: on a missing file, unknown [adjutant] key, or bad value.
    """
    path = path or DEFAULT_CONFIG_FILE
    environ = os.environ if environ is None else environ
    parser = configparser.RawConfigParser()
    try:
        with open(path) as handle:
            parser.read_file(handle)
    except (IOError, OSError) as exc:
        raise ConfigError("cannot read config file %s: %s" % (path, exc))
    except configparser.Error as exc:
        raise ConfigError("config file %s is not valid: %s" % (path, exc))
    if not parser.has_section("kojid"):
        raise ConfigError("config file %s has no [kojid] section" % path)

    values = {}
    for key, converter, default in KOJID_OPTIONS:
        if parser.has_option("kojid", key):
            values[key] = _convert("kojid", key, converter, parser.get("kojid", key))
        else:
            values[key] = default

    known_adjutant = set(option[0] for option in ADJUTANT_OPTIONS)
    ignored = []
    if parser.has_section("adjutant"):
        for key in parser.options("adjutant"):
            if key in RETIRED_ADJUTANT_OPTIONS:
                ignored.append(key)
            elif key not in known_adjutant:
                raise ConfigError("[adjutant] %s: unknown setting (known: %s)"
                                  % (key, ", ".join(sorted(known_adjutant))))
    for key, converter, default in ADJUTANT_OPTIONS:
        raw = None
        source = "adjutant"
        if parser.has_option("adjutant", key):
            raw = parser.get("adjutant", key)
        env_key = ENV_PREFIX + key.upper()
        if env_key in environ:
            raw = environ[env_key]
            source = "environment %s" % env_key
        if raw is None:
            values[key] = default
        else:
            values[key] = _convert(source, key, converter, raw)

    for key, raw in (overrides or {}).items():
        for name, converter, dummy in KOJID_OPTIONS + ADJUTANT_OPTIONS:
            if name == key:
                values[key] = _convert("override", key, converter, raw)
                break
        else:
            raise ConfigError("unknown setting %r" % key)

    ignored.extend(key for key in RETIRED_ADJUTANT_OPTIONS
                   if ENV_PREFIX + key.upper() in environ and key not in ignored)
    values["ignored_settings"] = ignored
    _check_consistency(values)
    return WorkerConfig(values, path)


def _check_consistency(values):
    if not values["topurl"]:
        raise ConfigError("[kojid] topurl: required (the URL of the koji topdir, e.g. "
                          "https://kojipkgs.example.com/kojifiles)")
    if not values["server"].startswith(("http://", "https://")):
        raise ConfigError("[kojid] server = %r: expected an http:// or https:// URL"
                          % values["server"])
    if values["password"] and not values["user"]:
        raise ConfigError("[kojid] password is set but user is not")
    if values["cert"] and not os.path.exists(values["cert"]):
        raise ConfigError("[kojid] cert = %r: file does not exist" % values["cert"])
    if values["capacity"] is not None:
        try:
            capacity = float(values["capacity"])
        except ValueError:
            raise ConfigError("[adjutant] capacity = %r: expected a number" % values["capacity"])
        if capacity <= 0:
            raise ConfigError("[adjutant] capacity must be greater than 0")
        values["capacity"] = capacity
