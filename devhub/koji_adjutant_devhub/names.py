"""Name/id lookups in simple ``(id, name)`` tables (kojihub's ``lookup_name``), and the
``package`` table's."""

import koji

from . import users


def name_or_id(info):
    """('id', value) or ('name', value) for an int, a str or a dict with id/name."""
    if isinstance(info, dict):
        if 'id' in info:
            try:
                info = int(info['id'])
            except (TypeError, ValueError):
                raise koji.ParameterError('Invalid name or id value: %r' % (info,))
        elif 'name' in info:
            info = info['name']
        else:
            raise koji.ParameterError('Invalid name or id value: %r' % (info,))
    if isinstance(info, bool):
        raise koji.ParameterError('Invalid name or id value: %r' % (info,))
    if isinstance(info, int):
        return 'id', info
    if isinstance(info, str):
        return 'name', info
    raise koji.ParameterError('Invalid name or id value: %r' % (info,))


def lookup_name(hub, table, info, strict=False, create=False):
    """{'id', 'name'} of the entry of table matching info, or None.

    strict: GenericError when missing; create: insert a new entry (info must be
    a name).
    """
    column, value = name_or_id(info)
    row = hub.db.one('SELECT id, name FROM %s WHERE %s = ?' % (table, column), (value,))
    if row is not None:
        return row
    if strict:
        raise koji.GenericError('No such entry in table %s: %s' % (table, info))
    if create:
        if not isinstance(info, str):
            raise koji.GenericError('Name must be a string')
        users.verify_name(info)
        new_id = hub.db.insert(table, name=info)
        return {'id': new_id, 'name': info}
    return None


def get_id(hub, table, info, strict=False, create=False):
    data = lookup_name(hub, table, info, strict, create)
    return None if data is None else data['id']


# -- the package table ---------------------------------------------------------------

def lookup_package(hub, info, strict=False, create=False):
    return lookup_name(hub, 'package', info, strict=strict, create=create)


def get_package_id(hub, info, strict=False, create=False):
    return get_id(hub, 'package', info, strict=strict, create=create)


def new_package(hub, name, strict=True):
    """Create a package entry (or, unless strict, return the existing one's id)."""
    users.verify_name(name)
    pkg_id = hub.db.value('SELECT id FROM package WHERE name = ?', (name,))
    if pkg_id:
        if strict:
            raise koji.GenericError('Package already exists [id %d]' % pkg_id)
        return pkg_id
    return hub.db.insert('package', name=name)
