"""Tasks: creation, state machine, results and waiting.

The state rules are kojihub's ``Task`` class:

* FREE -> ASSIGNED (scheduler) -> OPEN (``host.openTask`` by the assigned
  host) -> CLOSED / FAILED (``host.closeTask`` / ``host.failTask`` by the
  host that has it open);
* any unfinished task may be CANCELED or freed again (back to FREE, no
  host); ``cancel`` cancels a task with its children and its build;
* finished tasks (CLOSED, CANCELED, FAILED) never change again.
"""

import base64
import time
import xmlrpc.client

import koji
import koji.util
import koji.xmlrpcplus

from . import context
from . import hosts
from . import users
from .db import to_bool
from .hub import format_ts
from .query import apply_query_opts

ST = koji.TASK_STATES
FINISHED_STATES = (ST['CLOSED'], ST['CANCELED'], ST['FAILED'])

# Initial task weights by method, as kojid's handlers report them
# (koji-builder-protocol.md section 8); the builder may raise them later with
# host.setTaskWeight.  Methods not listed get koji's generic 1.0.
DEFAULT_WEIGHTS = {
    'build': 0.2,
    'buildSRPMFromSCM': 1.0,
    'rebuildSRPM': 1.0,
    'buildArch': 1.5,
    'tagBuild': 1.0,
    'newRepo': 0.1,
    'createrepo': 1.5,
    'waitrepo': 0.2,
    'tagNotification': 0.1,
    'buildNotification': 0.1,
    'sleep': 0.25,
    'default': 0.1,
    'restart': 0.1,
    'restartVerify': 0.1,
    'restartHosts': 0.1,
    'dependantTask': 0.2,
    'shutdown': 0.0,
    'chainbuild': 0.1,
    'distRepo': 0.1,
    'createdistrepo': 1.5,
    'runroot': 2.0,
}
GENERIC_WEIGHT = 1.0

INFO_FIELDS = ('id', 'state', 'create_time', 'create_ts', 'start_time', 'start_ts',
               'completion_time', 'completion_ts', 'channel_id', 'host_id', 'parent',
               'label', 'waiting', 'awaited', 'owner', 'method', 'arch', 'priority', 'weight')


def default_weight(method):
    return DEFAULT_WEIGHTS.get(method, GENERIC_WEIGHT)


def task_info_from_row(row):
    """Build kojihub's task map from a ``tasks`` row."""
    info = {
        'id': row['id'],
        'state': row['state'],
        'create_time': format_ts(row['create_ts']),
        'create_ts': row['create_ts'],
        'start_time': format_ts(row['start_ts']),
        'start_ts': row['start_ts'],
        'completion_time': format_ts(row['completion_ts']),
        'completion_ts': row['completion_ts'],
        'channel_id': row['channel_id'],
        'host_id': row['host_id'],
        'parent': row['parent'],
        'label': row['label'],
        'waiting': to_bool(row['waiting']),
        'awaited': to_bool(row['awaited']),
        'owner': row['owner'],
        'method': row['method'],
        'arch': row['arch'],
        'priority': row['priority'],
        'weight': row['weight'],
    }
    return info


def _xml_text(data):
    """Stored request/response text; older clients may send base64."""
    if data.find('<?xml', 0, 10) == -1:
        try:
            data = base64.b64decode(data).decode('utf-8')
        except Exception:
            raise koji.GenericError('Invalid XML-RPC data: neither XML nor base64')
    return data


def decode_request(text):
    params, _method = xmlrpc.client.loads(_xml_text(text))
    return list(params)


def normalize_response(response):
    """Check a closeTask/failTask response and return the text to store.

    It must be a complete XML-RPC methodResponse (``<?xml`` ...) or the base64
    of one; a response that does not parse is refused with GenericError so a
    broken worker is caught at once instead of when the result is read.
    """
    if isinstance(response, bytes):
        response = response.decode('utf-8')
    if not isinstance(response, str):
        raise koji.ParameterError('Invalid type for response: %s, expected an XML-RPC '
                                  'methodResponse string' % type(response))
    text = _xml_text(response)
    try:
        xmlrpc.client.loads(text)
    except xmlrpc.client.Fault:
        pass
    except Exception as e:
        raise koji.GenericError('Invalid task response (not an XML-RPC methodResponse): %s' % e)
    return text


class Task(object):
    """One task row and the operations kojihub allows on it."""

    def __init__(self, hub, task_id):
        self.hub = hub
        if isinstance(task_id, bool):
            raise koji.ParameterError('Invalid type for value %r: expected int' % (task_id,))
        try:
            self.id = int(task_id)
        except (TypeError, ValueError):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (task_id, type(task_id), int))

    @property
    def db(self):
        return self.hub.db

    def _row(self, strict=True):
        row = self.db.one('SELECT * FROM tasks WHERE id = ?', (self.id,))
        if row is None and strict:
            raise koji.GenericError('No such task: %i' % self.id)
        return row

    # -- reading -----------------------------------------------------------

    def get_info(self, strict=True, request=False):
        row = self._row(strict=strict)
        if row is None:
            return None
        info = task_info_from_row(row)
        if request:
            info['request'] = decode_request(row['request'])
        return info

    def get_state(self):
        return self._row()['state']

    def is_finished(self):
        return self.get_state() in FINISHED_STATES

    def is_canceled(self):
        return self.get_state() == ST['CANCELED']

    def is_failed(self):
        return self.get_state() == ST['FAILED']

    def get_owner(self):
        return self._row()['owner']

    def get_request(self):
        return decode_request(self._row()['request'])

    def get_result(self, raise_fault=True):
        row = self.db.one('SELECT state, result FROM tasks WHERE id = ?', (self.id,))
        if row is None:
            raise koji.GenericError('No such task')
        state = row['state']
        if state == ST['CANCELED']:
            raise koji.GenericError('Task %i is canceled' % self.id)
        if state not in (ST['CLOSED'], ST['FAILED']):
            raise koji.GenericError('Task %i is not finished' % self.id)
        try:
            result, _method = xmlrpc.client.loads(_xml_text(row['result']))
        except xmlrpc.client.Fault as fault:
            if raise_fault:
                raise
            return {'faultCode': fault.faultCode, 'faultString': fault.faultString}
        return result[0]

    def get_children(self, request=False):
        rows = self.db.query('SELECT * FROM tasks WHERE parent = ? ORDER BY id', (self.id,))
        result = []
        for row in rows:
            info = task_info_from_row(row)
            if request:
                info['request'] = decode_request(row['request'])
            result.append(info)
        return result

    # -- ownership ---------------------------------------------------------

    def verify_host(self, host_id=None):
        """True if the task is OPEN and held by host_id (default: the caller)."""
        if host_id is None:
            sess = context.session()
            host_id = sess.host_id if sess is not None else None
        if host_id is None:
            return False
        row = self._row()
        return row['state'] == ST['OPEN'] and row['host_id'] == host_id

    def assert_host(self, host_id):
        if not self.verify_host(host_id):
            raise koji.ActionNotAllowed('host %d does not own task %d' % (host_id, self.id))

    def verify_owner(self, user_id=None):
        if user_id is None:
            sess = context.session()
            user_id = sess.user_id if sess is not None else None
        if user_id is None:
            return False
        return self._row()['owner'] == user_id

    # -- state changes -----------------------------------------------------

    def lock(self, host_id, newstate='OPEN', force=False):
        """Assign or open the task for host_id; returns True on success."""
        row = self._row()
        if not force:
            state, other = row['state'], row['host_id']
            if state == ST['FREE']:
                if other is not None:
                    return False
            elif state == ST['ASSIGNED']:
                if other is None or other != host_id:
                    return False
                if newstate == 'ASSIGNED':
                    return True
            else:
                # OPEN (here or elsewhere), CANCELED, CLOSED, FAILED
                return False
        values = {'state': ST[newstate], 'host_id': host_id}
        if newstate == 'OPEN':
            values['start_ts'] = time.time()
        self.db.update('tasks', 'id = ?', (self.id,), **values)
        context.state_changed()
        return True

    def assign(self, host_id, force=False):
        """Assign to a host (admin assignTask); records a scheduler run entry."""
        if not self.lock(host_id, 'ASSIGNED', force):
            return False
        self.db.execute('UPDATE task_runs SET active = 0 WHERE task_id = ?', (self.id,))
        self.db.insert('task_runs', task_id=self.id, host_id=host_id, create_ts=time.time())
        return True

    def open(self, host_id):
        """ASSIGNED-to-us -> OPEN; returns the task map (with raw request) or None."""
        if not self.lock(host_id, 'OPEN'):
            return None
        row = self._row()
        info = task_info_from_row(row)
        info['request'] = _xml_text(row['request'])
        return info

    def free(self):
        state = self._row()['state']
        if state in FINISHED_STATES:
            raise koji.GenericError('Cannot free task %i, state is %s'
                                    % (self.id, ST[state]))
        self.db.update('tasks', 'id = ?', (self.id,), state=ST['FREE'], host_id=None)
        self.db.execute('UPDATE task_runs SET active = 0 WHERE task_id = ?', (self.id,))
        context.state_changed()
        return True

    def set_weight(self, weight):
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (weight, type(weight), float))
        if weight < 0:
            raise koji.ParameterError('Task weight must not be negative')
        self.db.update('tasks', 'id = ?', (self.id,), weight=weight)

    def set_priority(self, priority, recurse=False):
        priority = int(priority)
        self.db.update('tasks', 'id = ?', (self.id,), priority=priority)
        if recurse:
            for child_id in self.db.column('SELECT id FROM tasks WHERE parent = ?', (self.id,)):
                Task(self.hub, child_id).set_priority(priority, recurse=True)

    def _finish(self, response, state):
        text = normalize_response(response)
        self.db.update('tasks', 'id = ?', (self.id,), result=text, state=state,
                       completion_ts=time.time())
        self.db.execute('UPDATE task_runs SET active = 0 WHERE task_id = ?', (self.id,))
        context.state_changed()

    def close(self, response):
        self._finish(response, ST['CLOSED'])

    def fail(self, response):
        self._finish(response, ST['FAILED'])

    def set_canceled(self):
        """An unfinished task becomes CANCELED (the task alone: cancel.cancel_task also
        cancels its build and children); False if it had already finished."""
        if self.get_state() in FINISHED_STATES:
            return False
        self.db.update('tasks', 'id = ?', (self.id,), state=ST['CANCELED'],
                       completion_ts=time.time())
        self.db.execute('UPDATE task_runs SET active = 0 WHERE task_id = ?', (self.id,))
        context.state_changed()
        return True


# -- creating tasks ------------------------------------------------------------


MAKE_TASK_OPTS = ('parent', 'label', 'owner', 'channel', 'arch', 'priority', 'assign')


def make_task(hub, method, arglist, **opts):
    """Create a task (kojihub's make_task; callers check permissions).

    opts: parent, label, owner, channel, arch, priority, assign.
    Children default to the parent's owner, arch and channel and to the
    parent's priority minus one.
    """
    if not isinstance(method, str):
        raise koji.ParameterError('Invalid type for method: %s, expected str' % type(method))
    if not isinstance(arglist, (list, tuple)):
        raise koji.ParameterError('Invalid type for arglist: %s, expected list' % type(arglist))
    opts = dict((k, v) for k, v in opts.items() if k in MAKE_TASK_OPTS)
    db = hub.db
    if opts.get('parent') is not None:
        opts['parent'] = int(opts['parent'])
    if opts.get('label') is not None and not isinstance(opts['label'], str):
        raise koji.ParameterError('Invalid type for label: %s' % type(opts['label']))
    if opts.get('owner') is not None and not isinstance(opts['owner'], int):
        opts['owner'] = users.get_user(hub, opts['owner'], strict=True)['id']
    if 'arch' in opts:
        opts['arch'] = koji.parse_arches(opts['arch'], strict=True, allow_none=True)
    if opts.get('priority') is not None:
        opts['priority'] = int(opts['priority'])
    assign = opts.get('assign')
    if assign is not None and not isinstance(assign, int):
        assign = hosts.get_host(hub, assign, strict=True)['id']

    pdata = None
    if opts.get('parent') is not None:
        pdata = db.one('SELECT state, owner, channel_id, priority, arch FROM tasks WHERE id = ?',
                       (opts['parent'],))
        if pdata is None:
            raise koji.GenericError('Invalid parent task: %(parent)s' % opts)
        if pdata['state'] != ST['OPEN']:
            raise koji.GenericError('Parent task (id %(parent)s) is not open' % opts)
        if opts.get('priority') is None:
            opts['priority'] = pdata['priority'] - 1
        for key in ('owner', 'arch'):
            if opts.get(key) is None:
                opts[key] = pdata[key]
        opts.setdefault('label', None)
    else:
        if opts.get('priority') is None:
            opts['priority'] = koji.PRIO_DEFAULT
        if opts.get('arch') is None:
            opts['arch'] = 'noarch'
        if opts.get('owner') is None:
            sess = context.session()
            if sess is None or not sess.logged_in:
                raise koji.GenericError('task must have an owner')
            opts['owner'] = sess.user_id
        opts['label'] = None
        opts['parent'] = None

    # channel policy of a stock hub: requested channel, else the parent's, else 'default'
    if opts.get('channel') is not None:
        channel = hosts.get_channel(hub, opts['channel'])
        if not channel:
            raise koji.GenericError('No such channel: %s' % opts['channel'])
        if not channel['enabled']:
            raise koji.GenericError('Channel %s is disabled.' % opts['channel'])
        channel_id = channel['id']
    elif pdata is not None:
        channel_id = pdata['channel_id']
    else:
        channel_id = hosts.get_channel(hub, 'default', strict=True)['id']

    request = koji.xmlrpcplus.dumps(tuple(arglist), methodname=method)
    values = dict(state=ST['FREE'], create_ts=time.time(), channel_id=channel_id,
                  parent=opts['parent'], label=opts['label'], owner=opts['owner'],
                  method=method, arch=opts['arch'], priority=opts['priority'],
                  weight=default_weight(method), request=request)
    if assign:
        values['state'] = ST['ASSIGNED']
        values['host_id'] = assign
    task_id = db.insert('tasks', **values)
    if assign:
        db.insert('task_runs', task_id=task_id, host_id=assign, create_ts=time.time())
    context.state_changed()
    return task_id


def get_task_descendents(hub, task, request=False, child_map=None):
    if child_map is None:
        child_map = {}
    children = task.get_children(request=request)
    child_map[str(task.id)] = children
    for child in children:
        get_task_descendents(hub, Task(hub, child['id']), request, child_map)
    return child_map


# -- listTasks -------------------------------------------------------------------

_TIME_OPTS = {
    'createdBefore': ('create_ts', '<'), 'createdAfter': ('create_ts', '>'),
    'startedBefore': ('start_ts', '<'), 'startedAfter': ('start_ts', '>'),
    'completeBefore': ('completion_ts', '<'), 'completeAfter': ('completion_ts', '>'),
    'completedBefore': ('completion_ts', '<'), 'completedAfter': ('completion_ts', '>'),
}


def _to_epoch(value):
    """Seconds since the epoch from a number or an ISO 'YYYY-MM-DD[ HH:MM:SS]' (UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        parsed = koji.util.parseTime(value)
        if parsed is not None:
            return float(parsed)
    raise koji.GenericError('Invalid time value: %r' % (value,))


def list_tasks(hub, opts=None, queryOpts=None):
    """kojihub's listTasks with its filters (see the method docstring there)."""
    opts = dict(opts or {})
    queryOpts = dict(queryOpts or {})
    clauses, params = [], []
    for field in ('arch', 'state'):
        for negate in (False, True):
            key = ('not_' if negate else '') + field
            if key in opts:
                values = opts[key]
                if not isinstance(values, (list, tuple)):
                    values = [values]
                marks = ', '.join(['?'] * len(values)) or 'NULL'
                clauses.append('tasks.%s %sIN (%s)' % (field, 'NOT ' if negate else '', marks))
                params.extend(values)
    for field in ('owner', 'host_id', 'channel_id', 'parent'):
        for negate in (False, True):
            key = ('not_' if negate else '') + field
            if key not in opts:
                continue
            value = opts[key]
            if value is None:
                clauses.append('tasks.%s IS %sNULL' % (field, 'NOT ' if negate else ''))
            elif isinstance(value, (list, tuple)):
                marks = ', '.join(['?'] * len(value)) or 'NULL'
                clauses.append('tasks.%s %sIN (%s)' % (field, 'NOT ' if negate else '', marks))
                params.extend(value)
            else:
                clauses.append('tasks.%s %s ?' % (field, '!=' if negate else '='))
                params.append(value)
    if 'method' in opts:
        clauses.append('tasks.method = ?')
        params.append(opts['method'])
    for key, (column, op) in _TIME_OPTS.items():
        if opts.get(key) is not None:
            clauses.append('tasks.%s %s ?' % (column, op))
            params.append(_to_epoch(opts[key]))
    sql = ('SELECT tasks.*, users.name AS owner_name, users.usertype AS owner_type '
           'FROM tasks LEFT JOIN users ON users.id = tasks.owner')
    if clauses:
        sql += ' WHERE ' + ' AND '.join('(%s)' % c for c in clauses)
    sql += ' ORDER BY tasks.id'
    rows = hub.db.query(sql, params)
    result = []
    decode = opts.get('decode') and not queryOpts.get('countOnly') \
        and not queryOpts.get('asList')
    for row in rows:
        info = task_info_from_row(row)
        info['owner_name'] = row['owner_name']
        info['owner_type'] = row['owner_type']
        info['request'] = row['request']
        info['result'] = row['result']
        if decode:
            for key in ('request', 'result'):
                if info[key]:
                    try:
                        info[key] = list(xmlrpc.client.loads(_xml_text(info[key]))[0])
                    except xmlrpc.client.Fault as fault:
                        info[key] = {'faultCode': fault.faultCode,
                                     'faultString': fault.faultString}
        result.append(info)
    return apply_query_opts(result, queryOpts)


# -- waiting (host side) ------------------------------------------------------------

def task_set_wait(hub, parent, tasks):
    """Mark parent waiting and the given (or all) children awaited."""
    if tasks is not None and not isinstance(tasks, (list, tuple)):
        raise koji.ParameterError('Invalid type for tasks: %s, expected list' % type(tasks))
    db = hub.db
    db.execute('UPDATE tasks SET waiting = 1 WHERE id = ?', (parent,))
    if tasks is None:
        db.execute('UPDATE tasks SET awaited = 1 WHERE parent = ?', (parent,))
    elif tasks:
        marks = ', '.join(['?'] * len(tasks))
        db.execute('UPDATE tasks SET awaited = 1 WHERE parent = ? AND id IN (%s)' % marks,
                   [parent] + list(tasks))
        db.execute('UPDATE tasks SET awaited = 0 WHERE parent = ? AND awaited = 1 '
                   'AND id NOT IN (%s)' % marks, [parent] + list(tasks))


def task_unwait(hub, parent):
    hub.db.execute('UPDATE tasks SET waiting = 0 WHERE id = ?', (parent,))
    hub.db.execute('UPDATE tasks SET awaited = 0 WHERE parent = ?', (parent,))


def task_wait_check(hub, parent):
    """[finished, unfinished] ids among the awaited children of parent."""
    finished, unfinished = [], []
    for row in hub.db.query('SELECT id, state FROM tasks WHERE parent = ? AND awaited = 1 '
                            'ORDER BY id', (parent,)):
        (finished if row['state'] in FINISHED_STATES else unfinished).append(row['id'])
    return finished, unfinished


def task_wait(hub, parent):
    finished, unfinished = task_wait_check(hub, parent)
    for task_id in finished:
        hub.db.execute('UPDATE tasks SET awaited = 0 WHERE id = ?', (task_id,))
    return [finished, unfinished]


def task_wait_results(hub, parent, tasks, canfail=None):
    """[[id, result], ...] of children; re-raises the fault of a failed child."""
    canfail = canfail or []
    task_unwait(hub, parent)
    if tasks is None:
        marks = ', '.join(['?'] * len(FINISHED_STATES))
        tasks = hub.db.column('SELECT id FROM tasks WHERE parent = ? AND state IN (%s) '
                              'ORDER BY id' % marks, (parent,) + FINISHED_STATES)
    results = []
    for task_id in tasks:
        task = Task(hub, task_id)
        raise_fault = task_id not in canfail
        try:
            results.append([task_id, task.get_result(raise_fault=raise_fault)])
        except koji.GenericError as e:
            if not raise_fault and task.is_canceled():
                results.append([task_id, {'faultCode': e.faultCode, 'faultString': str(e)}])
                continue
            raise
    return results


def host_open_tasks(hub, host_id):
    """host.getHostTasks: OPEN tasks of a host, with 'alert' for woken parents."""
    rows = hub.db.query('SELECT id, waiting, weight FROM tasks WHERE host_id = ? AND state = ? '
                        'ORDER BY id', (host_id, ST['OPEN']))
    result = []
    for row in rows:
        task = {'id': row['id'], 'waiting': to_bool(row['waiting']), 'weight': row['weight']}
        if row['waiting']:
            finished = task_wait_check(hub, row['id'])[0]
            if finished:
                task['alert'] = True
        result.append(task)
    return result
