"""The task scheduler (after kojihub/scheduler.py, koji >= 1.34).

The hub, not the builders, decides which host runs a task.  A run is
triggered by ``host.getTasks`` when the calling host has nothing assigned,
at most once per ``scheduler_interval`` seconds.  One run:

1. marks ready hosts that have not called ``host.updateHost`` for
   ``ready_timeout`` seconds as not ready;
2. assigns FREE tasks, in (priority, creation) order, to eligible hosts.  A
   task goes in the bin ``channel:arch``; a host serves the bins of its
   enabled channels for each of its arches plus ``noarch``.  A host is
   eligible when it is enabled and ready, runs fewer than ``maxjobs`` tasks
   (the builder's own ``maxjobs`` from its updateHost data when given), has
   ``capacity - load > max(0, weight - capacity_overcommit)`` (load = the
   weights of its non-waiting OPEN/ASSIGNED tasks) and has not refused the
   task (hard refusals last while the task lives, soft ones
   ``soft_refusal_timeout`` seconds).  Like koji, the method list a builder
   reports is not used: a builder refuses tasks it has no handler for.
   Among eligible hosts the least busy one wins (load + task count +
   demand, as koji ranks them);
3. frees ASSIGNED tasks not opened within ``assign_timeout`` seconds and
   OPEN tasks of hosts silent for ``host_timeout`` seconds.
"""

import logging
import time

import koji

from . import context
from .db import load_json
from .tasks import Task

logger = logging.getLogger('koji_adjutant_devhub.scheduler')

ST = koji.TASK_STATES
LAST_RUN_KEY = 'scheduler_last_run_ts'


def log_both(hub, msg, task_id=None, host_id=None, level=logging.INFO):
    prefix = ''
    if task_id:
        prefix += '[task_id=%s] ' % task_id
    if host_id:
        prefix += '[host_id=%s] ' % host_id
    logger.log(level, '%s%s', prefix, msg)
    hub.db.insert('scheduler_log', ts=time.time(), task_id=task_id, host_id=host_id, msg=msg)


def tasks_for_host(hub, host_id):
    """The tasks ASSIGNED to a host, in the form host.getTasks returns them."""
    rows = hub.db.query('SELECT id, state, channel_id, host_id, arch, method, priority, '
                        'create_ts FROM tasks WHERE host_id = ? AND state = ? '
                        'ORDER BY priority, create_ts, id', (host_id, ST['ASSIGNED']))
    return rows


def set_refusal(hub, host_id, task_id, soft=True, by_host=True, msg=''):
    hub.db.insert('task_refusals', task_id=task_id, host_id=host_id, soft=1 if soft else 0,
                  by_host=1 if by_host else 0, msg=msg, ts=time.time())


def get_task_refusals(hub, taskID=None, hostID=None):
    clauses, params = [], []
    if taskID is not None:
        clauses.append('task_id = ?')
        params.append(int(taskID))
    if hostID is not None:
        clauses.append('host_id = ?')
        params.append(int(hostID))
    sql = 'SELECT id, task_id, host_id, by_host, soft, msg, ts FROM task_refusals'
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    rows = hub.db.query(sql + ' ORDER BY id DESC', params)
    for row in rows:
        row['by_host'] = bool(row['by_host'])
        row['soft'] = bool(row['soft'])
    return rows


def get_task_runs(hub, taskID=None, hostID=None, active=None):
    clauses, params = [], []
    for column, value in (('task_id', taskID), ('host_id', hostID)):
        if value is not None:
            clauses.append('%s = ?' % column)
            params.append(int(value))
    if active is not None:
        clauses.append('active = ?')
        params.append(1 if active else 0)
    sql = 'SELECT id, task_id, host_id, active, create_ts FROM task_runs'
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    rows = hub.db.query(sql + ' ORDER BY id', params)
    for row in rows:
        row['active'] = bool(row['active'])
    return rows


class TaskScheduler(object):
    """One scheduling pass over the hub's tasks and hosts."""

    def __init__(self, hub):
        self.hub = hub
        cfg = hub.config
        self.maxjobs = cfg.maxjobs
        self.capacity_overcommit = cfg.capacity_overcommit
        self.ready_timeout = cfg.ready_timeout
        self.assign_timeout = cfg.assign_timeout
        self.host_timeout = cfg.host_timeout
        self.run_interval = cfg.scheduler_interval
        self.soft_refusal_timeout = cfg.soft_refusal_timeout
        self.hosts = {}
        self.hosts_by_bin = {}
        self.free_tasks = []
        self.active_tasks = []

    @property
    def db(self):
        return self.hub.db

    def run(self, force=False):
        """Run a pass unless one ran less than run_interval seconds ago."""
        if not force and not self.check_ts():
            return False
        self.get_tasks()
        self.get_hosts()
        self.check_hosts()
        self.do_schedule()
        self.check_active_tasks()
        return True

    def check_ts(self):
        now = time.time()
        last = float(self.db.get_meta(LAST_RUN_KEY, 0) or 0)
        if 0 <= now - last < self.run_interval:
            return False
        self.db.set_meta(LAST_RUN_KEY, repr(now))
        return True

    # -- data ----------------------------------------------------------------

    def get_tasks(self):
        cols = ('id AS task_id, state, waiting, weight, channel_id, host_id, arch, method, '
                'priority, create_ts')
        self.active_tasks = self.db.query(
            'SELECT %s FROM tasks WHERE state IN (?, ?) AND host_id IS NOT NULL' % cols,
            (ST['ASSIGNED'], ST['OPEN']))
        self.free_tasks = self.db.query(
            'SELECT %s FROM tasks WHERE state = ? ORDER BY priority, create_ts, id LIMIT 1000'
            % cols, (ST['FREE'],))
        for task in self.free_tasks + self.active_tasks:
            task['_bin'] = '%s:%s' % (task['channel_id'], task['arch'])

    def get_hosts(self):
        hosts = self.db.query('SELECT id, name, update_ts, task_load, ready, arches, capacity, '
                              'data FROM hosts WHERE enabled = 1')
        chan_idx = {}
        for row in self.db.query('SELECT host_channels.host_id, host_channels.channel_id '
                                 'FROM host_channels JOIN channels '
                                 'ON channels.id = host_channels.channel_id '
                                 'WHERE channels.enabled = 1'):
            chan_idx.setdefault(row['host_id'], []).append(row['channel_id'])
        self.hosts = {}
        self.hosts_by_bin = {}
        for host in hosts:
            host['ready'] = bool(host['ready'])
            host['data'] = load_json(host['data'], {}) or {}
            host['channels'] = chan_idx.get(host['id'], [])
            host['_bins'] = []
            self.hosts[host['id']] = host
            for chan in host['channels']:
                for arch in (host['arches'] or '').split() + ['noarch']:
                    hbin = '%s:%s' % (chan, arch)
                    self.hosts_by_bin.setdefault(hbin, []).append(host)
                    host['_bins'].append(hbin)

    def check_hosts(self):
        now = time.time()
        for host in self.hosts.values():
            if not host['ready']:
                continue
            if host['update_ts'] is None or now - host['update_ts'] > self.ready_timeout:
                log_both(self.hub, 'Marking host not ready', host_id=host['id'])
                self.db.update('hosts', 'id = ?', (host['id'],), ready=0)
                host['ready'] = False

    # -- assignment ------------------------------------------------------------

    def _refusals(self):
        """{(task_id, host_id)} pairs that must not be assigned now."""
        cutoff = time.time() - self.soft_refusal_timeout
        pairs = set()
        for row in self.db.query('SELECT task_id, host_id, soft, ts FROM task_refusals'):
            if not row['soft'] or row['ts'] > cutoff:
                pairs.add((row['task_id'], row['host_id']))
        return pairs

    def _host_maxjobs(self, host):
        maxjobs = host['data'].get('maxjobs')
        if isinstance(maxjobs, int) and not isinstance(maxjobs, bool) and maxjobs > 0:
            return min(maxjobs, self.maxjobs)
        return self.maxjobs

    def _host_can_run(self, host, task, refused):
        min_avail = max(0.0, task['weight'] - self.capacity_overcommit)
        if not host['ready']:
            return False
        if host['_ntasks'] >= self._host_maxjobs(host):
            return False
        if host['capacity'] - host['_load'] <= min_avail:
            return False
        if (task['task_id'], host['id']) in refused:
            return False
        return True

    @staticmethod
    def _rank(host):
        host['_rank'] = host['_load'] + host['_ntasks'] + host['_demand']

    def do_schedule(self):
        for host in self.hosts.values():
            host['_load'] = 0.0
            host['_ntasks'] = 0
            host['_demand'] = 0.0
        for task in self.active_tasks:
            host = self.hosts.get(task['host_id'])
            if host is None:
                continue
            if not task['waiting']:
                host['_load'] += task['weight']
            host['_ntasks'] += 1

        refused = self._refusals()
        for task in self.free_tasks:
            task['_hosts'] = [h for h in self.hosts_by_bin.get(task['_bin'], [])
                              if self._host_can_run(h, task, refused)]
            for host in task['_hosts']:
                host['_demand'] += task['weight'] / len(task['_hosts'])
        total = sum(h['_demand'] for h in self.hosts.values())
        if total > 0:
            for host in self.hosts.values():
                host['_demand'] /= total
        for host in self.hosts.values():
            self._rank(host)

        for task in self.free_tasks:
            for host in sorted(task['_hosts'], key=lambda h: (h['_rank'], h['id'])):
                if self._host_can_run(host, task, refused):
                    self.add_run(task, host)
                    host['_load'] += task['weight']
                    host['_ntasks'] += 1
                    self._rank(host)
                    break

    def add_run(self, task, host):
        log_both(self.hub, 'Assigning task', task_id=task['task_id'], host_id=host['id'])
        self.db.execute('UPDATE task_runs SET active = 0 WHERE task_id = ? AND active = 1',
                        (task['task_id'],))
        self.db.insert('task_runs', task_id=task['task_id'], host_id=host['id'],
                       create_ts=time.time())
        self.db.execute('UPDATE tasks SET host_id = ?, state = ? WHERE id = ? AND state = ?',
                        (host['id'], ST['ASSIGNED'], task['task_id'], ST['FREE']))
        context.state_changed()

    # -- timeouts ----------------------------------------------------------------

    def check_active_tasks(self):
        runs = {}
        for run in get_task_runs(self.hub, active=True):
            runs.setdefault(run['task_id'], []).append(run)
        now = time.time()
        for task in self.active_tasks:
            host = self.hosts.get(task['host_id'])
            if host is None:
                # disabled host: its tasks stay until it frees them or is re-enabled
                continue
            taskruns = runs.get(task['task_id'], [])
            if not taskruns:
                log_both(self.hub, 'Task with no active run entry', task_id=task['task_id'],
                         host_id=host['id'], level=logging.WARNING)
                self._free(task['task_id'])
                continue
            if task['state'] == ST['ASSIGNED']:
                age = now - min(r['create_ts'] for r in taskruns)
                if age > self.assign_timeout:
                    log_both(self.hub, 'Task assignment timeout', task_id=task['task_id'],
                             host_id=host['id'])
                    self._free(task['task_id'])
            elif task['state'] == ST['OPEN']:
                if host['update_ts'] is None:
                    age = now - min(r['create_ts'] for r in taskruns)
                else:
                    age = now - host['update_ts']
                if age > self.host_timeout:
                    log_both(self.hub, 'Freeing task from unresponsive host',
                             task_id=task['task_id'], host_id=host['id'])
                    self._free(task['task_id'])
        # end runs of tasks that are no longer assigned/open
        self.db.execute('UPDATE task_runs SET active = 0 WHERE active = 1 AND task_id NOT IN '
                        '(SELECT id FROM tasks WHERE state IN (?, ?))',
                        (ST['ASSIGNED'], ST['OPEN']))

    def _free(self, task_id):
        Task(self.hub, task_id).free()
