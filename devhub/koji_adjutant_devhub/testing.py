"""Run a dev hub for tests and benchmarks.

Typical use::

    from koji_adjutant_devhub.testing import DevHub

    with DevHub() as hub:                       # temp topdir, free loopback port
        hub.add_host('builder1', ['x86_64'], 'secret')
        repo = hub.make_tag_with_repo('f40-build', ['x86_64'])
        task_id = hub.make_task('sleep', [1])
        info = hub.wait_task(task_id, ['CLOSED', 'FAILED'], timeout=60)

The hub runs as a subprocess (``python -m koji_adjutant_devhub serve``), so
it behaves exactly as it does for a worker: real HTTP, real sessions.  Users,
hosts, tags and repos are seeded straight into its SQLite database (the
same code as ``devhub init``), because koji has no API to set passwords.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import koji
import koji.util

from . import notifications
from . import seed
from .config import HubConfig
from .hub import Hub

# This file is <repo>/devhub/koji_adjutant_devhub/testing.py.
DEVHUB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(DEVHUB_ROOT)


def subprocess_env(env=None):
    """env (default os.environ) with the dev hub's and the worker's source trees first on
    PYTHONPATH, so that a subprocess imports this checkout."""
    env = dict(os.environ if env is None else env)
    paths = [DEVHUB_ROOT, REPO_ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


# The interpreter DevHub runs the server on, when not this one: scripts/ansible-matrix.sh runs
# the tests (and so the worker) on Pythons without the rpm bindings, which the hub needs for
# the rpms it imports, as a real hub has its own Python on its own machine.
PYTHON_ENV = 'KOJI_ADJUTANT_DEVHUB_PYTHON'


def server_python(environ=None):
    """The interpreter of the dev hub server: ``$KOJI_ADJUTANT_DEVHUB_PYTHON``, else this one."""
    environ = os.environ if environ is None else environ
    return environ.get(PYTHON_ENV) or sys.executable


def _state_number(state):
    if isinstance(state, int):
        return state
    return koji.TASK_STATES[state]


# The build groups of test tags: packages the buildroot image brings (rpm provides).
BUILD_GROUP_PACKAGES = ("bash", "coreutils", "gcc", "make", "rpm-build", "tar", "gzip")


def write_worker_config(path, hub, workdir, user, password, kojid=None, adjutant=None):
    """A kojid.conf for a worker of this dev hub (topdir shared, quick polling).

    ``kojid`` and ``adjutant`` add or override settings of those sections.
    """
    workdir = str(workdir)
    sections = {
        "kojid": {"server": hub.url, "topurl": hub.topurl, "topdir": hub.topdir,
                  "workdir": workdir, "user": user, "password": password, "sleeptime": "1",
                  "minspace": "10"},
        "adjutant": {"state_dir": os.path.join(workdir, "state"),
                     "log_dir": os.path.join(workdir, "log"), "subtask_poll_interval": "0.5"},
    }
    sections["kojid"].update(kojid or {})
    sections["adjutant"].update(adjutant or {})
    with open(str(path), "w") as handle:
        for name, values in sections.items():
            handle.write("[%s]\n" % name)
            for key, value in values.items():
                handle.write("%s = %s\n" % (key, value))
            handle.write("\n")
    return str(path)


class DevHub(object):
    """A dev hub subprocess on a free loopback port.

    :param topdir: koji topdir (default: a temporary directory, removed on stop)
    :param admin: (name, password) of the admin user that is created
    :param scheduler_interval: seconds between scheduler runs
    :param tls: a dict with ``cert``, ``key`` and ``ca`` paths to also serve HTTPS
    :param extra_args: more ``serve`` options (e.g. ``['--assign-timeout', '5']``)
    """

    def __init__(self, topdir=None, admin=('kojiadmin', 'kojiadmin'), scheduler_interval=1.0,
                 tls=None, extra_args=(), host='127.0.0.1', start=True, startup_timeout=30):
        self._own_topdir = topdir is None
        self.topdir = os.path.abspath(topdir or tempfile.mkdtemp(prefix='devhub-'))
        self.admin_user, self.admin_password = admin
        self.scheduler_interval = scheduler_interval
        self.tls = tls
        self.extra_args = list(extra_args)
        self.bind_host = host
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self.tls_port = None
        self.log_path = os.path.join(os.path.dirname(self.topdir),
                                     os.path.basename(self.topdir) + '-devhub.log')
        self._local = threading.local()
        self._hub = None
        # the buildroot cache images of this hub's URL are removed once (a second stop()
        # asks podman again for nothing)
        self._cache_forgotten = False
        if start:
            self.start()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def db_path(self):
        return os.path.join(self.topdir, 'devhub.sqlite')

    def start(self, port=0, tls_port=0):
        """Seed the admin user and start the server; returns when it answers.

        Port 0 picks a free port; restart() passes the previous ports so that
        existing clients (and their sessions) keep working.
        """
        if self.proc is not None:
            return
        self._cache_forgotten = False
        os.makedirs(self.topdir, exist_ok=True)
        seed.ensure_user(self._seed_hub(), self.admin_user, self.admin_password,
                         perms=('admin',))
        port_file = os.path.join(self.topdir, '.devhub-port')
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [server_python(), '-m', 'koji_adjutant_devhub', 'serve', '--topdir', self.topdir,
               '--host', self.bind_host, '--port', str(port), '--port-file', port_file,
               '--scheduler-interval', str(self.scheduler_interval)]
        if self.tls:
            cmd += ['--tls-port', str(tls_port or 0), '--tls-cert', self.tls['cert'], '--tls-key',
                    self.tls['key'], '--tls-ca', self.tls['ca']]
        cmd += self.extra_args
        log = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         env=subprocess_env(), cwd=REPO_ROOT)
        finally:
            log.close()
        deadline = time.time() + self.startup_timeout
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError('dev hub exited with %s; log: %s\n%s'
                                   % (self.proc.returncode, self.log_path, self.log_tail()))
            if time.time() > deadline:
                self.stop()
                raise RuntimeError('dev hub did not start; log: %s' % self.log_path)
            time.sleep(0.05)
        with open(port_file) as fo:
            parts = fo.read().split()
        self.port = int(parts[0])
        self.tls_port = int(parts[1]) if len(parts) > 1 else None
        self._local = threading.local()
        while True:
            try:
                koji.ClientSession(self.url).getAPIVersion()
                break
            except Exception:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError('dev hub does not answer; log: %s' % self.log_path)
                time.sleep(0.05)

    def stop(self, cleanup=True):
        """Stop the server (and remove a temporary topdir when cleanup is true)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        self._local = threading.local()
        if self._hub is not None:
            self._hub.close()
            self._hub = None
        if cleanup and self.port and not self._cache_forgotten:
            self._forget_buildroot_cache()
            self._cache_forgotten = True
        if cleanup and self._own_topdir:
            shutil.rmtree(self.topdir, ignore_errors=True)
            if os.path.exists(self.log_path):
                os.unlink(self.log_path)

    def _forget_buildroot_cache(self):
        """Workers that built for this hub kept buildroot cache images labelled with its URL;
        the next hub listens on another port, so nothing would use them again (and every
        podman call reads the image store they fill)."""
        if shutil.which('podman') is None:
            return
        from ansible_collections.koji_adjutant.builder.plugins.module_utils import (
            buildroot_cache, containers)

        for url in filter(None, (self.url, self.tls_url)):
            try:
                buildroot_cache.forget_hub(url)
            except (containers.ContainerError, ValueError):
                pass

    def restart(self):
        """Stop and start again on the same topdir, database and ports (state is kept)."""
        port, tls_port = self.port, self.tls_port
        self.stop(cleanup=False)
        self.start(port=port, tls_port=tls_port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, 'rt', errors='replace') as fo:
                return ''.join(fo.readlines()[-lines:])
        except OSError:
            return ''

    def _seed_hub(self):
        if self._hub is None:
            self._hub = Hub(HubConfig(self.topdir))
        return self._hub

    # -- addresses ----------------------------------------------------------------------

    @property
    def url(self):
        """The hub URL (kojid.conf ``server``)."""
        return 'http://%s:%d/kojihub' % (self.bind_host, self.port)

    @property
    def tls_url(self):
        if not self.tls_port:
            return None
        return 'https://%s:%d/kojihub' % (self.bind_host, self.tls_port)

    @property
    def topurl(self):
        """Where topdir is served (kojid.conf ``topurl``)."""
        return 'http://%s:%d/kojifiles' % (self.bind_host, self.port)

    # -- sessions -----------------------------------------------------------------------

    def session(self, user=None, password=None, **opts):
        """A new koji.ClientSession, logged in when a user is given."""
        session = koji.ClientSession(self.url, opts=opts)
        if user is not None:
            session.opts['user'] = user
            session.opts['password'] = password
            session.login()
        return session

    def admin_session(self):
        """The admin's logged-in session (one per thread, reused)."""
        session = getattr(self._local, 'admin', None)
        if session is None or not session.logged_in:
            session = self.session(self.admin_user, self.admin_password)
            self._local.admin = session
        return session

    def host_session(self, name, password, exclusive=True, force=False):
        """A session logged in as a build host, made exclusive like kojid does."""
        session = self.session(name, password)
        if exclusive:
            session.exclusiveSession(force=force)
        return session

    def write_koji_config(self, path, profile='devhub'):
        """Write a koji CLI config for this hub; returns the profile name.

        The koji CLI reads no user/password from its config file: pass them as
        ``koji -c PATH -p PROFILE --user NAME --password PASSWORD ...``
        (see :meth:`koji_cli_args`).
        """
        lines = ['[%s]' % profile, 'server = %s' % self.url, 'topurl = %s' % self.topurl,
                 'topdir = %s' % self.topdir, 'authtype = password', 'anon_retry = true',
                 'max_retries = 3', 'retry_interval = 1']
        with open(path, 'wt') as fo:
            fo.write('\n'.join(lines) + '\n')
        return profile

    def koji_cli_args(self, config_path, user=None, password=None, profile='devhub'):
        """Global ``koji`` CLI options for a config written by write_koji_config."""
        return ['-c', config_path, '-p', profile, '--user', user or self.admin_user,
                '--password', password or self.admin_password]

    # -- seeding and tasks -----------------------------------------------------------------

    def add_user(self, name, password, perms=()):
        return seed.ensure_user(self._seed_hub(), name, password, perms=perms)

    def add_host(self, name, arches, password, channels=('default',), capacity=None):
        """Create (or update) a build host whose user logs in with password."""
        host_id = seed.ensure_host(self._seed_hub(), name, password, list(arches),
                                   channels=channels)
        if capacity is not None:
            self.admin_session().editHost(name, capacity=float(capacity))
        return host_id

    def make_tag_with_repo(self, name, arches, extra=None):
        """Create (or update) a tag and give it a READY repo (kept if it has one already);
        returns repoInfo."""
        hub = self._seed_hub()
        seed.ensure_tag(hub, name, list(arches), extra=extra)
        repo_id = seed.make_repo(hub, name)
        return self.admin_session().repoInfo(repo_id, strict=True)

    def make_repo(self, tag):
        """A new READY repo of the tag's current content, made here (repoInit, createrepo_c
        with the comps, repoDone) instead of by a newRepo task; returns repoInfo."""
        repo_id = seed.make_repo(self._seed_hub(), tag, force=True)
        return self.admin_session().repoInfo(repo_id, strict=True)

    def import_rpms(self, paths, tag=None, owner=None):
        """Upload and import rpms (SRPMs first, as ``koji import``); with a tag, add their
        packages to its list (owner: default the admin) and tag the new builds.

        Returns the builds (getBuild maps) the rpms belong to, in import order.
        """
        session = self.admin_session()
        paths = sorted(paths, key=lambda p: (not p.endswith('.src.rpm'), p))
        result = []
        for path in paths:
            hdr = koji.get_rpm_header(path)
            fields = koji.get_header_fields(hdr, ('name', 'version', 'release', 'arch',
                                                  'sourcepackage'))
            if fields['sourcepackage']:
                fields['arch'] = 'src'
            rpminfo = session.getRPM(dict((k, fields[k]) for k in
                                          ('name', 'version', 'release', 'arch')))
            if rpminfo is None or rpminfo['external_repo_id']:
                # not imported yet (as koji import, an rpm already there is skipped)
                serverdir = 'devhub-import/%s.%s' % (time.time(), os.getpid())
                session.uploadWrapper(path, serverdir)
                rpminfo = session.importRPM(serverdir, os.path.basename(path))
            if rpminfo['build_id'] not in [b['id'] for b in result]:
                result.append(session.getBuild(rpminfo['build_id'], strict=True))
        if tag is not None:
            listed = set(p['package_name'] for p in
                         session.listPackages(tagID=tag, inherited=True, with_owners=False))
            tagged = set(b['id'] for b in session.listTagged(tag))
            for build in result:
                if build['name'] not in listed:
                    session.packageListAdd(tag, build['name'], owner or self.admin_user)
                    listed.add(build['name'])
                if build['id'] not in tagged:
                    session.tagBuildBypass(tag, build['id'])
        return result

    def import_signatures(self, paths, write=True):
        """Import the signatures of signed copies of rpms the hub has, as ``koji
        import-sig`` does (``addRPMSig``, then ``writeSignedRPM`` unless write is
        false); returns the key ids, one per path.  The rpms must have been imported
        (``import_rpms``) or built already; unsigned paths give ''."""
        session = self.admin_session()
        keys = []
        for path in paths:
            fields = koji.get_header_fields(path, ('name', 'version', 'release', 'arch',
                                                   'sourcepackage'))
            if fields['sourcepackage']:
                fields['arch'] = 'src'
            rinfo = session.getRPM(dict((k, fields[k]) for k in
                                        ('name', 'version', 'release', 'arch')), strict=True)
            sighdr = koji.rip_rpm_sighdr(path)
            sigkey = koji.get_sighdr_key(sighdr) or ''
            if not session.queryRPMSigs(rpm_id=rinfo['id'], sigkey=sigkey):
                session.addRPMSig(rinfo['id'], koji.util.base64encode(sighdr))
            if write and sigkey:
                session.writeSignedRPM(rinfo['id'], sigkey)
            keys.append(sigkey)
        return keys

    def add_group(self, tag, group, packages=()):
        """Add a comps group (e.g. ``build``) with packages to a tag."""
        session = self.admin_session()
        session.groupListAdd(tag, group)
        for pkg in packages:
            session.groupPackageListAdd(tag, group, pkg)

    def make_build_tag(self, name, arches, group_packages=BUILD_GROUP_PACKAGES):
        """A build tag as kojid's buildroots need it: arches, a ``build`` group (and
        ``srpm-build``) in its comps, and a READY repo made after them; returns repoInfo."""
        self.make_tag_with_repo(name, arches)
        self.add_group(name, "build", group_packages)
        self.add_group(name, "srpm-build", group_packages)
        return self.make_repo(name)

    def notifications(self):
        """The build and tag notifications the hub recorded, oldest first (dicts with
        type, build_id, task_id, tag_id, from_id, user_id, state, is_successful,
        ignore_success, failure_msg, recipients, notify_task_id)."""
        return notifications.list_notifications(self._seed_hub())

    def drop_repo_requests(self):
        """Deactivate every repo request (between tests: no newRepo tasks for old ones)."""
        with seed.local_call(self._seed_hub()) as ctx:
            ctx.hub.db.execute('UPDATE repo_queue SET active = 0 WHERE active = 1')

    def make_task(self, method, args, **opts):
        """makeTask as admin; returns the task id."""
        return self.admin_session().makeTask(method, list(args), **opts)

    def task_info(self, task_id, request=False):
        return self.admin_session().getTaskInfo(task_id, request=request, strict=True)

    def wait_task(self, task_id, states=('CLOSED', 'FAILED', 'CANCELED'), timeout=60,
                  interval=0.2):
        """Poll until the task is in one of states (names or numbers); returns its info."""
        wanted = set(_state_number(s) for s in states)
        deadline = time.time() + timeout
        while True:
            info = self.task_info(task_id)
            if info['state'] in wanted:
                return info
            if time.time() > deadline:
                raise TimeoutError('task %s still %s after %ss (wanted %s)'
                                   % (task_id, koji.TASK_STATES[info['state']], timeout,
                                      sorted(koji.TASK_STATES[s] for s in wanted)))
            time.sleep(interval)


# -- test certificates (a CA and certificates it signs, made with openssl) ----

# -- rpm signing keys (gpg) and signed copies of rpms (rpmsign) ----------------------

def make_signing_key(directory, name='Dev Hub Test Key'):
    """A gpg RSA key without passphrase in directory/gnupg; returns a dict with
    ``gnupghome``, ``name`` and ``keyid`` (koji's sigkey: the last 8 hex digits of the
    fingerprint, lowercase)."""
    home = os.path.join(str(directory), 'gnupg')
    os.makedirs(home, mode=0o700, exist_ok=True)
    params = os.path.join(home, 'key-params')
    with open(params, 'w') as fo:
        fo.write('%%no-protection\nKey-Type: RSA\nKey-Length: 2048\nName-Real: %s\n'
                 'Name-Email: devhub-test@localhost.invalid\nExpire-Date: 0\n%%commit\n'
                 % name)
    subprocess.run(['gpg', '--homedir', home, '--batch', '--gen-key', params], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(['gpg', '--homedir', home, '--list-keys', '--with-colons', name],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    fingerprint = [line.split(':')[9] for line in out.splitlines()
                   if line.startswith('fpr:')][0]
    return {'gnupghome': home, 'name': name, 'keyid': fingerprint[-8:].lower()}


def sign_rpm(path, key, dest=None):
    """A signed copy of an rpm (rpmsign --addsign with key from make_signing_key), at
    dest (a directory or file; default: path itself); returns its path."""
    if dest is not None:
        if os.path.isdir(dest):
            dest = os.path.join(dest, os.path.basename(path))
        shutil.copyfile(path, dest)
        path = dest
    subprocess.run(['rpmsign', '--addsign', '--define', '__gpg %s' % shutil.which('gpg'),
                    '--define', '_gpg_name %s' % key['name'],
                    '--define', '_gpg_path %s' % key['gnupghome'], path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)
    return path


def _openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(directory, name):
    key, crt = '%s.key' % name, '%s.crt' % name
    _openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
             '-nodes', '-days', '2', '-subj', '/CN=%s' % name, '-keyout', key, '-out', crt,
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign', cwd=directory)
    return os.path.join(directory, key), os.path.join(directory, crt)


def make_cert(directory, ca, name, cn, server=False):
    """A certificate signed by ca=(key, crt); returns (key, crt, combined pem)."""
    ca_key, ca_crt = ca
    key, csr, crt = '%s.key' % name, '%s.csr' % name, '%s.crt' % name
    ext = os.path.join(directory, '%s.ext' % name)
    with open(ext, 'w') as fo:
        if server:
            fo.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n'
                     'extendedKeyUsage=serverAuth\n')
        else:
            fo.write('extendedKeyUsage=clientAuth\n')
    _openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
             '-subj', '/CN=%s' % cn, '-keyout', key, '-out', csr, cwd=directory)
    _openssl('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial',
             '-days', '2', '-out', crt, '-extfile', ext, cwd=directory)
    pem = os.path.join(directory, '%s.pem' % name)
    with open(pem, 'w') as out:
        for part in (crt, key):
            with open(os.path.join(directory, part)) as fo:
                out.write(fo.read())
    return os.path.join(directory, key), os.path.join(directory, crt), pem
