# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one hub-session helper shared by the worker daemon and the modules.

All hub traffic goes through ``koji.ClientSession``; nothing here speaks the
wire protocol itself.

Sessions
--------
* The daemon logs in as the build host the way kojid does (client certificate,
  else user/password, else GSSAPI) and makes the session exclusive: every
  ``host.*`` call needs that.
* Each task's playbook gets a *subsession* of that session (as kojid gives each
  task process one).  Its credentials are written to a *session file* in the
  task's private directory (mode 0600).  Modules of the playbook run one after
  another, each opening the session from that file.
* The hub refuses a call number that goes backwards (SequenceError) or repeats
  (RetryError), so the file also records the next call number: a module opens the
  session from the file (:func:`open_task_session`), makes its calls with that one
  ``ClientSession`` (also from a thread of its own, the live log's uploader, under the
  uploader's lock), and writes the session's ``callnum`` back when it is done, in a
  ``finally`` (:func:`release_session`).  The steps of a playbook run one after another,
  so the next step reads the number the last one left.
* Tools acting as a koji user (the ``koji_host`` module registering a host as an
  administrator) log in with explicit credentials through :func:`open_user_session`; the
  one login routine, :func:`login`, serves both.
"""

from __future__ import annotations

import json

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files

try:
    import koji
    HAS_KOJI = True
    KOJI_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the modules
    koji = None
    HAS_KOJI = False
    KOJI_IMPORT_ERROR = _exc


class HubLoginError(Exception):
    """Logging in to the hub as the build host failed."""


def new_client_session(config, sinfo=None):
    """A ``koji.ClientSession`` for the configured hub (not logged in)."""
    return koji.ClientSession(config.server, config.session_options(), sinfo=sinfo)


def login(session, server, cert=None, serverca=None, user=None, principal=None, keytab=None,
          ccache=None):
    """Log ``session`` in: client certificate, else user/password, else GSSAPI (kojid's order).

    The password is the ``password`` option the session was made with. Returns the method
    used (``ssl``, ``password`` or ``gssapi``); raises :class:`HubLoginError` naming the hub.
    """
    try:
        if cert:
            session.ssl_login(cert, None, serverca)
            return "ssl"
        if user:
            if not session.login():
                raise HubLoginError("login as %s failed" % user)
            return "password"
        session.gssapi_login(principal=principal, keytab=keytab, ccache=ccache)
        return "gssapi"
    except koji.GenericError as exc:
        raise HubLoginError("cannot log in to %s: %s" % (server, exc))
    except koji.PythonImportError as exc:
        raise HubLoginError("cannot log in to %s: no cert or user configured and GSSAPI "
                            "is unavailable (%s)" % (server, exc))


def login_host(session, config):
    """Log ``session`` in as the build host, in kojid's order of methods."""
    principal = config.krb_principal
    if not principal and not config.cert and not config.user and config.host_principal_format:
        principal = config.host_principal_format % config.hostname
    return login(session, config.server, cert=config.cert, serverca=config.serverca,
                 user=config.user, principal=principal, keytab=config.keytab,
                 ccache=config.ccache)


def open_user_session(server, user=None, password=None, cert=None, serverca=None,
                      principal=None, keytab=None, ccache=None, options=None):
    """A ``koji.ClientSession`` logged in with explicit credentials (not a worker config).

    For tools acting as a koji user, for example an administrator registering a host:
    ``cert`` (with ``serverca``), else ``user``/``password``, else GSSAPI with ``principal``
    and ``keytab`` (or the default credentials cache). ``options`` are further
    ``ClientSession`` options.
    """
    opts = dict(options or {})
    for key, value in (("user", user), ("password", password), ("cert", cert),
                       ("serverca", serverca)):
        if value:
            opts[key] = value
    session = koji.ClientSession(server, opts)
    login(session, server, cert=cert, serverca=serverca, user=user, principal=principal,
          keytab=keytab, ccache=ccache)
    return session


def open_host_session(config, force=None):
    """Log in as the build host and make the session exclusive.

    ``force`` (default: the ``force_lock`` setting) takes the exclusive lock
    over from an older session of the same host, as ``kojid --force-lock`` does.
    """
    session = new_client_session(config)
    login_host(session, config)
    if force is None:
        force = config.force_lock
    try:
        session.exclusiveSession(force=force)
    except koji.AuthLockError as exc:
        session.logout()
        raise HubLoginError("another session of this host holds the exclusive lock (%s): "
                            "another worker runs as this host, or one was killed and left "
                            "its session open; stop the other worker, or start this one "
                            "with --force-lock (as the worker role's service does) or "
                            "[adjutant] force_lock = true to take the lock over" % exc)
    return session


class PersistentSession(koji.ClientSession if HAS_KOJI else object):
    """A ClientSession opened from a session file (:func:`open_task_session`), whose
    credentials and next call number go back to the file with :meth:`save_state`."""

    state_file = None

    def save_state(self):
        """Write the session and its next call number (``callnum``) to its file."""
        if self.state_file and self.sinfo:
            write_session_file(self.state_file, self.sinfo, self.callnum)


def write_session_file(path, sinfo, callnum=0, extra=None):
    """Atomically write session credentials and the next call number (mode 0600)."""
    data = {
        "session-id": sinfo["session-id"],
        "session-key": sinfo["session-key"],
        "header-auth": sinfo.get("header-auth", True),
        "callnum": callnum or 0,
    }
    if extra:
        data.update(extra)
    atomic_files.write_json(path, data, mode=0o600)


def read_session_file(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError) as exc:
        raise HubLoginError("cannot read hub session file %s: %s" % (path, exc))
    for key in ("session-id", "session-key"):
        if key not in data:
            raise HubLoginError("hub session file %s lacks %s" % (path, key))
    return data


def open_task_session(config, path):
    """Re-open the task session stored in ``path`` (as written by the daemon)."""
    data = read_session_file(path)
    sinfo = {"session-id": data["session-id"], "session-key": data["session-key"],
             "header-auth": data.get("header-auth", True)}
    session = PersistentSession(config.server, config.session_options(), sinfo=sinfo)
    session.callnum = int(data.get("callnum") or 0)
    session.state_file = path
    # never log the task session out when this object goes away
    session.auth_method = None
    return session


def release_session(session):
    """Forget a session without logging it out (its owner closes it later); a task
    session's next call number is written to its file first."""
    if session is not None:
        if isinstance(session, PersistentSession):
            session.save_state()
            session.state_file = None
        # not logged in any more: koji's ClientSession does not log it out when collected
        session.setSession(None)


def create_task_session_file(host_session, path, task_id):
    """Make a subsession for a task and store it in ``path``; returns its id."""
    child = host_session.subsession()
    try:
        write_session_file(path, child.sinfo, child.callnum, extra={"task_id": task_id})
        return child.sinfo["session-id"]
    finally:
        child.setSession(None)


def close_task_session(host_session, session_id):
    """Close a task's subsession (kojid's ``logoutChild``)."""
    try:
        host_session.logoutChild(session_id)
    except koji.GenericError:
        pass
