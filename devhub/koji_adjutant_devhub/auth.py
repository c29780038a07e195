"""Sessions: login, validation, exclusive sessions and subsessions.

The rules are those of kojihub's ``auth.py``:

* a session is found by id + key (+ client IP when ``check_client_ip`` is on),
  otherwise AuthError "Invalid session or bad credentials";
* the call number must not go backwards (SequenceError) and may only repeat
  for the idempotent methods of :data:`RETRY_WHITELIST` (RetryError);
* a user may hold one exclusive session; another session of that user that
  is not a subsession of the exclusive one is "locked" and only
  ``exclusiveSession``/``login``/``logout`` may be called with it.
"""

import secrets
import string
import time

import koji

from . import context
from . import users

RETRY_WHITELIST = (
    'host.taskWait',
    'host.taskUnwait',
    'host.taskSetWait',
    'host.updateHost',
    'host.setBuildRootState',
    'repoExpire',
    'repoDelete',
    'repoProblem',
)

# methods allowed for a session whose user is locked by another exclusive session
LOCK_EXEMPT_METHODS = ('exclusiveSession', 'login', 'logout')

# methods allowed with an expired session
AUTH_METHODS = ('login', 'sslLogin')

_KEY_CHARS = string.ascii_letters + string.digits


class Session(object):
    """The session of one request (anonymous when no session was presented)."""

    def __init__(self, hub):
        self.hub = hub
        self.logged_in = False
        self.id = None
        self.key = None
        self.master = None
        self.user_id = None
        self.authtype = None
        self.hostip = None
        self.callnum = None
        self.exclusive = False
        self.lockerror = None
        self.user_data = {}
        self.session_data = {}
        self._perms = None
        self._host_id = ''

    # -- loading -----------------------------------------------------------

    @classmethod
    def load(cls, hub, session_id, session_key, callnum, method):
        """Find and check the session a request presented.

        ``method`` is the name of the called method (None for raw uploads);
        the retry rule and the expiry rule depend on it.
        """
        self = cls(hub)
        if session_id is None:
            return self
        try:
            self.id = int(session_id)
        except (TypeError, ValueError):
            raise koji.AuthError('Invalid session id: %r' % (session_id,))
        self.key = session_key
        ctx = context.current()
        hostip = remote_ip(hub, ctx)
        db = hub.db
        with db.transaction():
            row = db.one('SELECT * FROM sessions WHERE id = ? AND key = ? AND hostip = ? '
                         'AND closed = 0', (self.id, session_key, hostip))
            if row is None:
                raise koji.AuthError('Invalid session or bad credentials')
            self.session_data = row
            now = time.time()
            timeout = hub.config.session_renewal_timeout
            if not row['expired'] and timeout:
                if now > (row['renew_ts'] or row['start_ts']) + timeout:
                    row['expired'] = 1
                    db.execute('UPDATE sessions SET expired = 1 WHERE id = ? OR master = ?',
                               (self.id, self.id))
            if row['expired'] and method not in AUTH_METHODS:
                raise koji.AuthExpired('session "%s" has expired' % self.id)

            if callnum is not None:
                try:
                    callnum = int(callnum)
                except (TypeError, ValueError):
                    raise koji.AuthError('Invalid callnum: %r' % (callnum,))
                last = row['callnum']
                if last is not None:
                    if last > callnum:
                        raise koji.SequenceError('%s > %s (session %s)' % (last, callnum, self.id))
                    if last == callnum and method not in RETRY_WHITELIST:
                        raise koji.RetryError(
                            'unable to retry call %s (method %s) for session %s'
                            % (callnum, method, self.id))
            if row['expired']:
                return self

            user = db.one('SELECT id, name, status, usertype FROM users WHERE id = ?',
                          (row['user_id'],))
            if user['status'] != koji.USER_STATUS['NORMAL']:
                raise koji.AuthError('logins by %s are not allowed' % user['name'])

            if row['exclusive']:
                self.exclusive = True
            else:
                excl_id = db.value('SELECT id FROM sessions WHERE user_id = ? AND exclusive = 1 '
                                   'AND closed = 0', (row['user_id'],))
                if excl_id:
                    if excl_id == row['master']:
                        # our master session holds the lock
                        self.exclusive = True
                    else:
                        # enforced by the dispatcher, so that exclusiveSession(force=True)
                        # can still take the lock over
                        self.lockerror = 'User locked by another session'

            if callnum is not None:
                db.execute('UPDATE sessions SET update_ts = ?, callnum = ? WHERE id = ?',
                           (now, callnum, self.id))
            else:
                db.execute('UPDATE sessions SET update_ts = ? WHERE id = ?', (now, self.id))

        self.hostip = hostip
        self.callnum = callnum
        self.user_id = row['user_id']
        self.authtype = row['authtype']
        self.master = row['master']
        self.session_data = row
        self.user_data = user
        self.logged_in = True
        return self

    def validate(self):
        """Raise AuthLockError if another exclusive session locks this user."""
        if self.lockerror:
            raise koji.AuthLockError(self.lockerror)
        return True

    # -- permissions -------------------------------------------------------

    @property
    def perms(self):
        if self._perms is None:
            self._perms = set(users.get_user_perms(self.hub, self.user_id)) \
                if self.logged_in else set()
        return self._perms

    def getPerms(self):
        return sorted(self.perms) if self.logged_in else []

    def hasPerm(self, name):
        return self.logged_in and name in self.perms

    def assertPerm(self, name):
        if not self.hasPerm(name) and not self.hasPerm('admin'):
            msg = '%s permission required' % name
            if self.logged_in:
                msg += ' (logged in as %s)' % self.user_data['name']
            else:
                msg += ' (user not logged in)'
            raise koji.ActionNotAllowed(msg)

    def assertLogin(self):
        if not self.logged_in:
            raise koji.ActionNotAllowed('you must be logged in for this operation')

    def isUser(self, user_id):
        return self.logged_in and self.user_id == user_id

    def assertUser(self, user_id):
        if not self.isUser(user_id) and not self.hasPerm('admin'):
            raise koji.ActionNotAllowed('not owner')

    @property
    def host_id(self):
        """Id of the build host this session's user is, or None."""
        if self._host_id == '':
            if self.user_id is None:
                self._host_id = None
            else:
                self._host_id = self.hub.db.value('SELECT id FROM hosts WHERE user_id = ?',
                                                  (self.user_id,))
        return self._host_id

    def __str__(self):
        if not self.logged_in:
            return 'session: not logged in'
        data = {'id': self.id, 'user_id': self.user_id, 'master': self.master,
                'exclusive': self.exclusive, 'authtype': self.authtype,
                'hostip': self.hostip, 'callnum': self.callnum,
                'user_data': self.user_data}
        return 'session %d: %r' % (self.id, data)


def remote_ip(hub, ctx, override=None):
    """The address a session is bound to ('-' when the check is off)."""
    if not hub.config.check_client_ip:
        return '-'
    if override is not None:
        return override
    return ctx.remote_addr


def _new_key(user_id):
    return '%s-%s' % (user_id, ''.join(secrets.choice(_KEY_CHARS) for dummy in range(19)))


def create_session(hub, user_id, hostip, authtype, master=None):
    """Insert a session row and return the session info map clients expect."""
    now = time.time()
    key = _new_key(user_id)
    session_id = hub.db.insert('sessions', user_id=user_id, key=key, hostip=hostip,
                               authtype=authtype, master=master, start_ts=now, update_ts=now)
    return {'session-id': session_id, 'session-key': key, 'header-auth': True}


def _renew_session(hub, sess):
    """Give an (expired) session a new key, keeping its id (login with renew=True).

    The client restarts its call numbers at 0 with the renewed session.
    """
    key = _new_key(sess.session_data['user_id'])
    now = time.time()
    hub.db.execute('UPDATE sessions SET key = ?, expired = 0, renew_ts = ?, update_ts = ?, '
                   'callnum = NULL WHERE id = ?', (key, now, now, sess.id))
    return {'session-id': sess.id, 'session-key': key, 'header-auth': True}


def _check_login_allowed(hub, user_id):
    row = hub.db.one('SELECT name, status FROM users WHERE id = ?', (user_id,))
    if row is None:
        raise koji.AuthError('invalid user_id: %s' % user_id)
    if row['status'] != koji.USER_STATUS['NORMAL']:
        raise koji.AuthError('logins by %s are not allowed' % row['name'])


def _finish_login(hub, sess, user_id, hostip, authtype, renew, exclusive):
    if renew and sess.id is not None and sess.session_data.get('expired'):
        sinfo = _renew_session(hub, sess)
    else:
        sinfo = create_session(hub, user_id, hostip, authtype)
    if exclusive:
        make_exclusive(hub, sinfo['session-id'], user_id, master=None)
    return sinfo


def login(hub, user, password, opts=None, renew=False, exclusive=False):
    """Password login; returns {'session-id', 'session-key', 'header-auth'}."""
    sess = context.session()
    if opts is None:
        opts = {}
    if not isinstance(password, str) or not password:
        raise koji.AuthError('invalid username or password')
    if sess.logged_in:
        raise koji.AuthError('Already logged in')
    hostip = remote_ip(hub, context.current(), override=opts.get('hostip'))
    user_id = hub.db.value('SELECT id FROM users WHERE name = ? AND password = ?',
                           (user, password))
    if not user_id:
        raise koji.AuthError('invalid username or password')
    _check_login_allowed(hub, user_id)
    return _finish_login(hub, sess, user_id, hostip, koji.AUTHTYPES['NORMAL'], renew, exclusive)


def ssl_login(hub, proxyuser=None, proxyauthtype=None, renew=False, exclusive=None):
    """Client certificate login: the user is the certificate's subject CN."""
    ctx = context.current()
    sess = ctx.session
    if sess.logged_in:
        raise koji.AuthError('Already logged in')
    if ctx.client_verify != 'SUCCESS':
        raise koji.AuthError('could not verify client: %s' % ctx.client_verify)
    username = ctx.client_cert_user
    if not username:
        raise koji.AuthError('unable to get user information (CN) from client certificate')
    if proxyuser:
        raise koji.AuthError('%s is not authorized to login other users' % username)
    user_id = hub.db.value('SELECT id FROM users WHERE name = ?', (username,))
    if not user_id:
        raise koji.AuthError('Unknown user: %s' % username)
    _check_login_allowed(hub, user_id)
    return _finish_login(hub, sess, user_id, remote_ip(hub, ctx), koji.AUTHTYPES['SSL'],
                         renew, exclusive)


def make_exclusive(hub, session_id, user_id, master, force=False):
    """Mark a session exclusive (AuthLockError if another one already is)."""
    if master is not None:
        raise koji.GenericError('subsessions cannot become exclusive')
    excl_id = hub.db.value('SELECT id FROM sessions WHERE user_id = ? AND closed = 0 '
                           'AND exclusive = 1', (user_id,))
    if excl_id == session_id:
        # e.g. an exclusive session renewed with login(renew=True, exclusive=True)
        return
    if excl_id:
        if not force:
            raise koji.AuthLockError('Cannot get exclusive session')
        # close the previous exclusive session (and, with it, its subsessions)
        hub.db.execute('UPDATE sessions SET expired = 1, exclusive = NULL, closed = 1 '
                       'WHERE id = ? OR master = ?', (excl_id, excl_id))
    hub.db.execute('UPDATE sessions SET exclusive = 1 WHERE id = ?', (session_id,))


def exclusive_session(hub, force=False):
    sess = context.session()
    if not sess.logged_in:
        raise koji.AuthError('Not logged in')
    if sess.exclusive and sess.session_data.get('exclusive'):
        raise koji.GenericError('session is already exclusive')
    make_exclusive(hub, sess.id, sess.user_id, sess.master, force=force)
    sess.exclusive = True
    sess.lockerror = None


def shared_session(hub):
    sess = context.session()
    if not sess.logged_in:
        raise koji.AuthError('Not logged in')
    hub.db.execute('UPDATE sessions SET exclusive = NULL WHERE id = ?', (sess.id,))
    sess.exclusive = False


def logout(hub, session_id=None):
    """Close a session (by default the caller's) and all its subsessions."""
    sess = context.session()
    if not sess.logged_in:
        raise koji.AuthError('Not logged in')
    if session_id:
        if not sess.hasPerm('admin'):
            owner = hub.db.value('SELECT user_id FROM sessions WHERE id = ?', (session_id,))
            if owner != sess.user_id:
                raise koji.ActionNotAllowed('only admins or owner may logout other session')
        target = session_id
    else:
        target = sess.id
    hub.db.execute('UPDATE sessions SET expired = 1, exclusive = NULL, closed = 1 '
                   'WHERE id = ? OR master = ?', (target, target))
    if not session_id:
        sess.logged_in = False


def logout_child(hub, session_id):
    """Close a subsession of the caller's session."""
    sess = context.session()
    if not sess.logged_in:
        raise koji.AuthError('Not logged in')
    hub.db.execute('UPDATE sessions SET expired = 1, exclusive = NULL, closed = 1 '
                   'WHERE id = ? AND master = ?', (session_id, sess.id))


def subsession(hub):
    """Create a subsession (same user, same lock) of the caller's session."""
    sess = context.session()
    if not sess.logged_in:
        raise koji.AuthError('Not logged in')
    master = sess.master if sess.master is not None else sess.id
    return create_session(hub, sess.user_id, sess.hostip, sess.authtype, master=master)
