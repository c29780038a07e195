"""Users and permissions."""

import re

import koji

from . import context

USER_NAME_RE = re.compile(r'^[A-Za-z0-9/_.@-]+$')
INTERNAL_NAME_RE = re.compile(r'^[A-Za-z0-9/_.+-]+$')
MAX_NAME_LENGTH = 256


def verify_name(name, kind='Name', pattern=INTERNAL_NAME_RE):
    """Check a name the way kojihub's verify_name_* checks do."""
    if not isinstance(name, str) or not name:
        raise koji.GenericError('%s should be a non-empty string' % kind)
    if len(name) > MAX_NAME_LENGTH:
        raise koji.GenericError('%s %s is too long. Max length is %s characters'
                                % (kind, name, MAX_NAME_LENGTH))
    if not pattern.match(name):
        raise koji.GenericError('%s %s contains characters that are not allowed' % (kind, name))


def _user_row(hub, clause, params):
    return hub.db.one('SELECT id, name, status, usertype, krb_principal FROM users WHERE '
                      + clause, params)


def get_user(hub, userInfo=None, strict=False, krb_princs=True, groups=False):
    """Look a user up by id, name (or Kerberos principal) or a dict of those.

    Returns koji's user map: id, name, status, usertype, krb_principals.
    """
    if userInfo is None:
        sess = context.session()
        if sess is None or not sess.logged_in:
            raise koji.GenericError('No user provided')
        userInfo = sess.user_id
    row = None
    if isinstance(userInfo, bool):
        raise koji.GenericError('Invalid type for userInfo: %s' % type(userInfo))
    if isinstance(userInfo, int):
        row = _user_row(hub, 'id = ?', (userInfo,))
    elif isinstance(userInfo, str):
        row = _user_row(hub, 'name = ? OR krb_principal = ?', (userInfo, userInfo))
    elif isinstance(userInfo, dict):
        if userInfo.get('id') is not None:
            row = _user_row(hub, 'id = ?', (userInfo['id'],))
        elif userInfo.get('name'):
            row = _user_row(hub, 'name = ?', (userInfo['name'],))
        elif userInfo.get('krb_principal'):
            row = _user_row(hub, 'krb_principal = ?', (userInfo['krb_principal'],))
    else:
        raise koji.GenericError('Invalid type for userInfo: %s' % type(userInfo))
    if row is None:
        if strict:
            raise koji.GenericError('No such user: %r' % (userInfo,))
        return None
    princ = row.pop('krb_principal')
    if krb_princs:
        row['krb_principals'] = [princ] if princ else []
    if groups:
        row['groups'] = []
    return row


def create_user(hub, name, status=None, usertype=None, password=None, krb_principal=None):
    """Insert a user row (no permission check); return the new id."""
    verify_name(name, 'Name', USER_NAME_RE)
    if get_user(hub, name):
        raise koji.GenericError('user already exists: %s' % name)
    if status is None:
        status = koji.USER_STATUS['NORMAL']
    elif koji.USER_STATUS.get(status) is None:
        raise koji.GenericError('invalid status: %s' % status)
    if usertype is None:
        usertype = koji.USERTYPES['NORMAL']
    elif koji.USERTYPES.get(usertype) is None:
        raise koji.GenericError('invalid user type: %s' % usertype)
    return hub.db.insert('users', name=name, status=status, usertype=usertype,
                         password=password, krb_principal=krb_principal)


def set_password(hub, user, password):
    user_id = get_user(hub, user, strict=True)['id']
    hub.db.update('users', 'id = ?', (user_id,), password=password)


def set_user_status(hub, user, status):
    user_id = get_user(hub, user, strict=True)['id']
    hub.db.update('users', 'id = ?', (user_id,), status=status)


def lookup_perm(hub, perm, strict=False, create=False):
    """Return {id, name} of a permission given its name or id."""
    if isinstance(perm, int):
        row = hub.db.one('SELECT id, name FROM permissions WHERE id = ?', (perm,))
    else:
        row = hub.db.one('SELECT id, name FROM permissions WHERE name = ?', (perm,))
    if row is None:
        if create and isinstance(perm, str):
            verify_name(perm, 'Permission')
            new_id = hub.db.insert('permissions', name=perm)
            return {'id': new_id, 'name': perm}
        if strict:
            raise koji.GenericError('No such permission: %s' % perm)
    return row


def get_user_perms(hub, user_id):
    return hub.db.column('SELECT permissions.name FROM user_perms '
                         'JOIN permissions ON permissions.id = user_perms.perm_id '
                         'WHERE user_perms.user_id = ? ORDER BY permissions.name', (user_id,))


def grant_permission(hub, user, permission, create=False, description=None):
    """Give *user* a permission (no access check here)."""
    user_id = get_user(hub, user, strict=True)['id']
    perm = lookup_perm(hub, permission, strict=not create, create=create)
    if description is not None:
        if not create:
            raise koji.GenericError('Description should be specified only with create.')
        hub.db.update('permissions', 'id = ?', (perm['id'],), description=description)
    if perm['name'] in get_user_perms(hub, user_id):
        raise koji.GenericError('user %s already has permission: %s' % (user, perm['name']))
    hub.db.insert('user_perms', user_id=user_id, perm_id=perm['id'],
                  create_event=context.current().event_id)


def revoke_permission(hub, user, permission):
    user_id = get_user(hub, user, strict=True)['id']
    perm = lookup_perm(hub, permission, strict=True)
    if perm['name'] not in get_user_perms(hub, user_id):
        raise koji.GenericError('user %s does not have permission: %s' % (user, perm['name']))
    hub.db.execute('DELETE FROM user_perms WHERE user_id = ? AND perm_id = ?',
                   (user_id, perm['id']))


def list_users(hub, userType=koji.USERTYPES['NORMAL'], prefix=None):
    rows = hub.db.query('SELECT id, name, status, usertype, krb_principal FROM users '
                        'WHERE usertype = ? ORDER BY id', (userType,))
    result = []
    for row in rows:
        if prefix and not row['name'].lower().startswith(prefix.lower()):
            continue
        princ = row.pop('krb_principal')
        row['krb_principals'] = [princ] if princ else []
        result.append(row)
    return result
