"""Name/id lookups in simple ``(id, name)`` tables (kojihub's ``lookup_name``)."""

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
