"""Versioned tables, as kojihub keeps them.

A versioned row is never changed: it is created at an event (``create_event``,
``creator_id``, ``active = 1``) and later revoked (``revoke_event``,
``revoker_id``, ``active = NULL``), usually to be replaced by a new row.
Reading "at event E" selects the rows created at or before E and not revoked
by then (kojihub's ``eventCondition``); reading the present selects the
active rows.
"""

import koji

from . import context


def event_clause(event, table=None):
    """(sql, params) selecting the rows of a versioned table valid at event (None: now)."""
    prefix = '%s.' % table if table else ''
    if event is None:
        return '%sactive = 1' % prefix, []
    if isinstance(event, bool) or not isinstance(event, int):
        raise koji.GenericError('Invalid event: %r' % (event,))
    return ('(%(p)screate_event <= ? AND (%(p)srevoke_event IS NULL OR ? < %(p)srevoke_event))'
            % {'p': prefix}), [event, event]


def _user_id():
    try:
        sess = context.session()
    except RuntimeError:
        return None
    if sess is None or not sess.logged_in:
        return None
    return sess.user_id


def create(hub, table, _user=None, **data):
    """Insert an active row, created at the current call's event.

    The creator is the caller, or _user (a user id) when given: a host tagging
    for a task acts as the task's owner, as in kojihub.
    """
    data['create_event'] = context.state_changed()
    data['creator_id'] = _user if _user is not None else _user_id()
    data['active'] = 1
    hub.db.insert(table, **data)


def revoke(hub, table, where, params=(), _user=None):
    """Revoke the active rows matching where; returns how many were revoked."""
    revoker = _user if _user is not None else _user_id()
    cur = hub.db.execute(
        'UPDATE %s SET active = NULL, revoke_event = ?, revoker_id = ? WHERE active = 1 AND (%s)'
        % (table, where), [context.state_changed(), revoker] + list(params))
    return cur.rowcount
