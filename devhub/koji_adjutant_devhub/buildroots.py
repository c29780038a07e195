"""Standard buildroots (host.newBuildRoot & co, getBuildroot, listBuildroots).

State rules as kojihub's ``BuildRoot``: a buildroot starts in INIT, may
never go back to INIT, an EXPIRED one stays EXPIRED (expiring it again is
quietly accepted); the rpm list is set in INIT and extended in BUILDING.

List entries are matched to rpms as kojihub does: an entry with a
``location`` names an external repo (the dev hub has none, so such entries
are stored as given), any other entry must be an rpm known to the hub
(``getRPM``: by ``id``, else by name/version/release/arch), else
``GenericError`` "No such rpm".
"""

import koji

from . import builds
from . import context
from . import repos
from .hub import format_ts
from .query import apply_query_opts

BR = koji.BR_STATES
RPM_REQUIRED = ('name', 'version', 'release', 'arch')


def new_buildroot(hub, host_id, repo_id, arch, task_id=None, ctype='chroot'):
    arch = koji.parse_arches(arch, strict=True, allow_none=True)
    repos.repo_info(hub, repo_id, strict=True)
    event = context.state_changed()
    return hub.db.insert('buildroots', host_id=host_id, repo_id=int(repo_id), arch=arch,
                         task_id=task_id, state=BR['INIT'], container_type=ctype,
                         create_event=event)


def buildroot_row(hub, brootid):
    """The ``buildroots`` row of brootid (GenericError when there is none)."""
    row = hub.db.one('SELECT * FROM buildroots WHERE id = ?', (int(brootid),))
    if row is None:
        raise koji.GenericError('no buildroot with ID: %s' % brootid)
    return row


def assert_host(hub, brootid, host_id):
    row = buildroot_row(hub, brootid)
    if row['host_id'] != host_id:
        raise koji.ActionNotAllowed('Host %s not owner of buildroot %s' % (host_id, brootid))
    return row


def assert_task(row, task_id):
    if row['task_id'] != task_id:
        raise koji.ActionNotAllowed('Task %s does not have lock on buildroot %s'
                                    % (task_id, row['id']))


def set_state(hub, brootid, state):
    row = buildroot_row(hub, brootid)
    if isinstance(state, str):
        if state not in BR:
            raise koji.GenericError('Invalid buildroot state: %s' % state)
        state = BR[state]
    elif state not in (BR['INIT'], BR['WAITING'], BR['BUILDING'], BR['EXPIRED']):
        raise koji.GenericError('Invalid buildroot state: %r' % (state,))
    if state == BR['INIT']:
        raise koji.GenericError('Cannot change buildroot state to INIT')
    if row['state'] == BR['EXPIRED']:
        if state == BR['EXPIRED']:
            return None
        raise koji.GenericError('buildroot %i is EXPIRED' % row['id'])
    values = {'state': state}
    if state == BR['EXPIRED']:
        values['retire_event'] = context.state_changed()
    hub.db.update('buildroots', 'id = ?', (row['id'],), **values)
    return None


def _add_list(hub, row, rpmlist, update):
    if not isinstance(rpmlist, (list, tuple)):
        raise koji.ParameterError('rpmlist must be a list')
    existing = set()
    if update:
        for entry in get_listing(hub, row['id']):
            existing.add((entry['name'], entry['version'], entry['release'], entry['arch']))
    for entry in rpmlist:
        if not isinstance(entry, dict):
            raise koji.GenericError('Invalid type for rpminfo: %r' % type(entry))
        if not entry.get('location'):
            rpminfo = builds.get_rpm(hub, entry, strict=True)
            entry = dict(rpminfo, location=None)
        missing = [key for key in RPM_REQUIRED if not entry.get(key)]
        if missing:
            raise koji.GenericError('rpm entry lacks %s: %r' % (', '.join(missing), entry))
        key = (entry['name'], entry['version'], entry['release'], entry['arch'])
        if key in existing:
            continue
        existing.add(key)
        hub.db.insert('buildroot_listing', buildroot_id=row['id'], name=entry['name'],
                      version=entry['version'], release=entry['release'],
                      epoch=entry.get('epoch'), arch=entry['arch'],
                      payloadhash=entry.get('payloadhash'), size=entry.get('size'),
                      buildtime=entry.get('buildtime'), rpm_id=entry.get('id'),
                      location=entry.get('location'), is_update=1 if update else 0)


def set_list(hub, brootid, rpmlist):
    row = buildroot_row(hub, brootid)
    if row['state'] != BR['INIT']:
        raise koji.GenericError('buildroot %s in wrong state %s' % (row['id'], row['state']))
    _add_list(hub, row, rpmlist, update=False)


def update_list(hub, brootid, rpmlist):
    row = buildroot_row(hub, brootid)
    if row['state'] != BR['BUILDING']:
        raise koji.GenericError('buildroot %s in wrong state %s' % (row['id'], row['state']))
    _add_list(hub, row, rpmlist, update=True)


def get_listing(hub, brootid):
    buildroot_row(hub, brootid)
    rows = hub.db.query('SELECT * FROM buildroot_listing WHERE buildroot_id = ? ORDER BY rowid',
                        (int(brootid),))
    result = []
    for r in rows:
        build_id = None
        if r['rpm_id'] is not None and r['location'] is None:
            build_id = hub.db.value('SELECT build_id FROM rpminfo WHERE id = ?', (r['rpm_id'],))
        result.append({
            'rpm_id': r['rpm_id'], 'is_update': bool(r['is_update']), 'name': r['name'],
            'version': r['version'], 'release': r['release'], 'epoch': r['epoch'],
            'arch': r['arch'], 'build_id': build_id, 'draft': False,
            'external_repo_id': 0 if r['location'] is None else None,
            'external_repo_name': 'INTERNAL' if r['location'] is None else r['location'],
            'payloadhash': r['payloadhash'], 'size': r['size'], 'buildtime': r['buildtime']})
    return result


_BR_QUERY = (
    'SELECT buildroots.*, hosts.name AS host_name, repos.state AS repo_state, '
    'repos.tag_id AS tag_id, tags.name AS tag_name, repos.create_event AS repo_create_event, '
    'ce.ts AS create_ts, re.ts AS retire_ts, rce.ts AS repo_create_ts '
    'FROM buildroots '
    'LEFT JOIN hosts ON hosts.id = buildroots.host_id '
    'LEFT JOIN repos ON repos.id = buildroots.repo_id '
    'LEFT JOIN tags ON tags.id = repos.tag_id '
    'LEFT JOIN events AS ce ON ce.id = buildroots.create_event '
    'LEFT JOIN events AS re ON re.id = buildroots.retire_event '
    'LEFT JOIN events AS rce ON rce.id = repos.create_event')


def _br_out(row):
    return {
        'id': row['id'],
        'br_type': koji.BR_TYPES['STANDARD'],
        'cg_id': None, 'cg_name': None, 'cg_version': None,
        'container_arch': row['arch'], 'arch': row['arch'],
        'container_type': row['container_type'],
        'host_os': None, 'host_arch': None, 'extra': None,
        'state': row['state'], 'task_id': row['task_id'],
        'host_id': row['host_id'], 'host_name': row['host_name'],
        'repo_id': row['repo_id'], 'repo_state': row['repo_state'],
        'tag_id': row['tag_id'], 'tag_name': row['tag_name'],
        'create_event_id': row['create_event'], 'create_event_time': format_ts(row['create_ts']),
        'create_ts': row['create_ts'],
        'retire_event_id': row['retire_event'], 'retire_event_time': format_ts(row['retire_ts']),
        'retire_ts': row['retire_ts'],
        'repo_create_event_id': row['repo_create_event'],
        'repo_create_event_time': format_ts(row['repo_create_ts']),
    }


def _in_clause(column, value, clauses, params):
    if isinstance(value, (list, tuple)):
        clauses.append('%s IN (%s)' % (column, ', '.join(['?'] * len(value)) or 'NULL'))
        params.extend(value)
    else:
        clauses.append('%s = ?' % column)
        params.append(value)


def query_buildroots(hub, hostID=None, tagID=None, state=None, rpmID=None, archiveID=None,
                     taskID=None, buildrootID=None, repoID=None, queryOpts=None):
    clauses, params = [], []
    if buildrootID is not None:
        _in_clause('buildroots.id', buildrootID, clauses, params)
    if hostID is not None:
        _in_clause('buildroots.host_id', hostID, clauses, params)
    if tagID is not None:
        _in_clause('repos.tag_id', tagID, clauses, params)
    if state is not None:
        _in_clause('buildroots.state', state, clauses, params)
    if taskID is not None:
        _in_clause('buildroots.task_id', taskID, clauses, params)
    if repoID:
        _in_clause('buildroots.repo_id', repoID, clauses, params)
    if rpmID is not None:
        clauses.append('buildroots.id IN (SELECT buildroot_id FROM buildroot_listing '
                       'WHERE rpm_id = ?)')
        params.append(rpmID)
    if archiveID is not None:
        return apply_query_opts([], queryOpts)
    sql = _BR_QUERY
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    rows = [_br_out(r) for r in hub.db.query(sql + ' ORDER BY buildroots.id', params)]
    return apply_query_opts(rows, queryOpts)


def get_buildroot(hub, buildrootID, strict=False):
    try:
        buildrootID = int(buildrootID)
    except (TypeError, ValueError):
        raise koji.ParameterError('Invalid buildroot id: %r' % (buildrootID,))
    result = query_buildroots(hub, buildrootID=buildrootID)
    if not result:
        if strict:
            raise koji.GenericError('No such buildroot: %r' % buildrootID)
        return None
    return result[0]
