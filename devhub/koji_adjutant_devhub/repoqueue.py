"""Repo requests and their queue (koji >= 1.35: kojihub/repos.py), and newRepo tasks.

``repo.request`` returns a current-enough READY repo when there is one,
otherwise an (existing or new) request.  In a koji deployment kojira calls
``repo.checkQueue`` every few seconds, which turns waiting requests into
``newRepo`` tasks (channel ``createrepo``, priority 15, owner RepoQueueUser)
and retries failed ones; ``host.repoDone`` marks the requests a new READY
repo satisfies as fulfilled (``repos.fulfil_requests``).  The dev hub has no
kojira: it processes the queue itself right after each ``repo.request`` and
whenever a builder asks for work (``host.getTasks``), a client checks a
request (``repo.checkRequest``) or ``repo.checkQueue`` is called.  Requests made for
tags with ``repo.auto`` are created on the same occasions (kojira's
``repo.autoRequests``).
"""

import json
import logging
import time

import koji

from . import context
from . import repos
from . import tagging
from . import tags
from . import tasks
from . import users
from .hub import format_ts
from .query import query_view
from .tasks import Task

logger = logging.getLogger('koji_adjutant_devhub.repos')

ST = koji.TASK_STATES
RS = koji.REPO_STATES

REQUEST_FIELDS = {
    'id': False, 'create_time': False, 'create_ts': False, 'owner': False, 'owner_name': True,
    'priority': False, 'tag_id': False, 'tag_name': True, 'at_event': False,
    'min_event': False, 'opts': False, 'update_time': False, 'update_ts': False,
    'active': False, 'task_id': False, 'task_state': True, 'tries': False, 'repo_id': False,
}
REQUEST_DEFAULT_FIELDS = ('id', 'tag_id', 'at_event', 'min_event', 'create_ts', 'task_id',
                          'tries', 'repo_id', 'opts', 'active', 'update_ts')

_REQ_SQL = ('SELECT repo_queue.*, users.name AS owner_name, tags.name AS tag_name, '
            'tasks.state AS task_state FROM repo_queue '
            'JOIN tags ON tags.id = repo_queue.tag_id '
            'LEFT JOIN users ON users.id = repo_queue.owner '
            'LEFT JOIN tasks ON tasks.id = repo_queue.task_id')


def _req_out(row):
    return {
        'id': row['id'],
        'create_time': format_ts(row['create_ts']),
        'create_ts': row['create_ts'],
        'owner': row['owner'],
        'owner_name': row['owner_name'],
        'priority': row['priority'],
        'tag_id': row['tag_id'],
        'tag_name': row['tag_name'],
        'at_event': row['at_event'],
        'min_event': row['min_event'],
        'opts': json.loads(row['opts']),
        'update_time': format_ts(row['update_ts']),
        'update_ts': row['update_ts'],
        'active': bool(row['active']),
        'task_id': row['task_id'],
        'task_state': row['task_state'],
        'tries': row['tries'],
        'repo_id': row['repo_id'],
    }


def requests(hub, where='', params=(), order='repo_queue.id'):
    sql = _REQ_SQL + (' WHERE ' + where if where else '') + ' ORDER BY ' + order
    return [_req_out(row) for row in hub.db.query(sql, params)]


def get_request(hub, req_id):
    rows = requests(hub, 'repo_queue.id = ?', (req_id,))
    return rows[0] if rows else None


def query_queue(hub, clauses=None, fields=None, opts=None):
    return query_view(requests(hub), REQUEST_FIELDS, REQUEST_DEFAULT_FIELDS, clauses, fields,
                      opts)


def _convert_int(value):
    if isinstance(value, bool):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (value, type(value), int))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (value, type(value), int))


def _event_exists(hub, event_id):
    return hub.db.value('SELECT id FROM events WHERE id = ?', (event_id,)) is not None


def default_min_event(hub, taginfo, lag=None):
    """An event about ``RepoLag`` seconds back (rounded to RepoLagWindow), or the tag's
    last change if that is older: repos that recent are good enough by default."""
    last = tagging.tag_last_change_event(hub, taginfo['id'])
    if lag is None:
        lag = taginfo['extra'].get('repo.lag')
        if lag is not None and (not isinstance(lag, int) or isinstance(lag, bool)):
            lag = None
        if lag is None:
            lag = hub.config.repo_lag
    window = hub.config.repo_lag_window
    base_ts = ((time.time() - lag) // window) * window
    base = hub.db.value('SELECT id FROM events WHERE ts < ? ORDER BY id DESC LIMIT 1',
                        (base_ts,))
    if base is None:
        base = tagging.tag_first_change_event(hub, taginfo['id'])
    return min(base, last)


def _insert_request(hub, tag_id, owner, priority, min_event=None, at_event=None, opts=None):
    now = time.time()
    context.state_changed()
    return hub.db.insert('repo_queue', create_ts=now, update_ts=now, owner=owner,
                         priority=priority, tag_id=tag_id, at_event=at_event,
                         min_event=min_event, opts=json.dumps(opts or {}), active=1, tries=0)


def _find_request(hub, tag_id, opts, min_event=None, at_event=None):
    found = []
    for req in requests(hub, 'repo_queue.tag_id = ? AND repo_queue.active = 1', (tag_id,),
                        order='repo_queue.priority, repo_queue.id'):
        if req['opts'] != opts:
            continue
        if at_event is not None:
            if req['at_event'] != at_event:
                continue
        elif req['min_event'] is None or req['min_event'] < min_event:
            continue
        found.append(req)
    return found


def request_repo(hub, tag, min_event=None, at_event=None, opts=None, priority=None,
                 force=False):
    """repo.request: {'repo': repo or None, 'request': request or None, 'duplicate': bool}."""
    sess = context.session()
    sess.assertLogin()
    taginfo = tags.get_tag(hub, tag, strict=True)
    opts = repos.convert_repo_opts(opts, strict=True)
    if opts.get('maven'):
        raise koji.GenericError('Maven support not enabled')
    if at_event is not None:
        if min_event is not None:
            raise koji.ParameterError('The min_event and at_event options conflict')
        at_event = _convert_int(at_event)
        if not _event_exists(hub, at_event):
            raise koji.ParameterError('Invalid event: %s' % at_event)
    elif min_event == 'last':
        min_event = tagging.tag_last_change_event(hub, taginfo['id'])
    elif min_event is None:
        min_event = default_min_event(hub, taginfo)
    else:
        min_event = _convert_int(min_event)
        if not _event_exists(hub, min_event):
            raise koji.ParameterError('Invalid event: %s' % min_event)
    if priority is None:
        priority = koji.PRIO_DEFAULT
    else:
        priority = _convert_int(priority)
        if priority < 0 and not sess.hasPerm('admin'):
            raise koji.ActionNotAllowed('only admins may create high-priority requests')
        priority = koji.PRIO_DEFAULT + priority
    ret = {'repo': None, 'request': None, 'duplicate': False}
    if not force:
        repo = repos.get_best_repo(hub, taginfo['id'], min_event=min_event, at_event=at_event,
                                   opts=opts)
        if repo:
            ret['repo'] = repo
            return ret
    found = _find_request(hub, taginfo['id'], opts, min_event=min_event, at_event=at_event)
    if found:
        req = found[0]
        if req['priority'] > priority:
            set_request_priority(hub, req['id'], priority)
            req['priority'] = priority
        ret['request'] = req
        ret['duplicate'] = True
        return ret
    req_id = _insert_request(hub, taginfo['id'], sess.user_id, priority, min_event=min_event,
                             at_event=at_event, opts=opts)
    ret['request'] = get_request(hub, req_id)
    return ret


def check_repo_request(hub, req_id):
    """repo.checkRequest: {'request': ..., 'repo': repo or None[, 'task': task info]}."""
    req_id = _convert_int(req_id)
    req = get_request(hub, req_id)
    if not req:
        raise koji.GenericError('No such request')
    ret = {'repo': None, 'request': req}
    if req['repo_id']:
        ret['repo'] = repos.repo_info(hub, req['repo_id'])
    elif req['task_id']:
        ret['task'] = Task(hub, req['task_id']).get_info()
    return ret


def set_request_priority(hub, req_id, priority):
    hub.db.update('repo_queue', 'id = ?', (_convert_int(req_id),),
                  priority=_convert_int(priority))


# -- the queue (kojira's part) ------------------------------------------------------------

def _queue_owner(hub):
    user = users.get_user(hub, hub.config.repo_queue_user) if hub.config.repo_queue_user \
        else None
    return user['id'] if user else None


def repo_queue_task(hub, req):
    """A newRepo task for a request: [{'id', 'name'} of the tag, {opts[, event]}]."""
    opts = repos.convert_repo_opts(req['opts'] or {}, strict=True)
    kwargs = {'opts': opts}
    if req['at_event'] is not None:
        kwargs['event'] = req['at_event']
    args = koji.encode_args({'id': req['tag_id'], 'name': req['tag_name']}, **kwargs)
    taskopts = {'priority': 15, 'channel': 'createrepo'}
    owner = _queue_owner(hub)
    if owner:
        taskopts['owner'] = owner
    return tasks.make_task(hub, 'newRepo', args, **taskopts)


def _repo_from_task(hub, task_id):
    try:
        result = Task(hub, task_id).get_result()
        repo_id = int(result[0])
    except Exception as e:
        logger.error('Error reading result for task %s: %s', task_id, e)
        return None
    return repos.repo_info(hub, repo_id)


def valid_repo(req, repo):
    """Whether repo satisfies request (right tag, READY, event and options)."""
    if repo['tag_id'] != req['tag_id'] or repo['state'] != RS['READY']:
        return False
    if req['at_event'] is not None:
        if repo['create_event'] != req['at_event']:
            return False
    elif repo['create_event'] < req['min_event']:
        return False
    if not repo['opts']:
        return False
    for key, value in req['opts'].items():
        if repo['opts'].get(key) != value:
            return False
    for key, value in (repo['custom_opts'] or {}).items():
        if key not in req['opts'] or req['opts'][key] != value:
            return False
    return True


def check_repo_queue(hub):
    """Make newRepo tasks for waiting requests, retry failed ones (kojihub's check_repo_queue)."""
    waiting = requests(hub, 'repo_queue.repo_id IS NULL AND repo_queue.active = 1',
                       order='repo_queue.priority, repo_queue.id')
    n_tasks = 0
    updates = {}
    for req in waiting:
        if not req['task_id']:
            continue
        upd = updates.setdefault(req['id'], {})
        retry = False
        if req['task_state'] == ST['CLOSED']:
            repo = _repo_from_task(hub, req['task_id'])
            if repo and valid_repo(req, repo):
                upd['repo_id'] = repo['id']
                upd['active'] = 0
            else:
                retry = True
        elif req['task_state'] in (ST['CANCELED'], ST['FAILED']):
            retry = True
        else:
            n_tasks += 1
        if retry:
            if req['tries'] > hub.config.repo_retries:
                upd['active'] = 0
            else:
                upd['task_id'] = None
                req['task_id'] = None
    for req in waiting:
        if req['task_id'] or updates.get(req['id'], {}).get('active') == 0:
            continue
        if n_tasks >= hub.config.max_repo_tasks:
            break
        task_id = repo_queue_task(hub, req)
        n_tasks += 1
        upd = updates.setdefault(req['id'], {})
        upd['task_id'] = task_id
        upd['tries'] = (req['tries'] or 0) + 1
        logger.info('Created task %i for repo request %i', task_id, req['id'])
    made = False
    for req_id, upd in updates.items():
        if upd:
            made = True
            hub.db.update('repo_queue', 'id = ?', (req_id,), update_ts=time.time(), **upd)
    if made:
        clean_repo_queue(hub)


def clean_repo_queue(hub):
    hub.db.execute('DELETE FROM repo_queue WHERE active = 0 AND update_ts < ?',
                   (time.time() - hub.config.request_clean_time,))


def update_end_events(hub):
    """Set end_event of READY repos whose tag has changed since they were made."""
    events = {}
    for repo in repos.all_repos(hub, 'repos.end_event IS NULL AND repos.state = ?',
                                (RS['READY'],)):
        if repo['tag_id'] not in events:
            events[repo['tag_id']] = tagging.tag_change_events(hub, repo['tag_id'])
        later = [e for e in events[repo['tag_id']] if e > repo['create_event']]
        if later:
            hub.db.update('repos', 'id = ?', (repo['id'],), end_event=later[0])


def do_auto_requests(hub):
    """Request repos for tags with the extra ``repo.auto`` (kojira's autoRequests)."""
    owner = _queue_owner(hub)
    for taginfo in tags.list_tags(hub):
        if not taginfo['extra'].get('repo.auto'):
            continue
        lag = taginfo['extra'].get('repo.lag')
        if not isinstance(lag, int) or isinstance(lag, bool):
            lag = hub.config.repo_auto_lag
        min_event = default_min_event(hub, taginfo, lag=lag)
        opts = {}
        if repos.get_best_repo(hub, taginfo['id'], min_event=min_event, opts=opts):
            continue
        if _find_request(hub, taginfo['id'], opts, min_event=min_event):
            continue
        _insert_request(hub, taginfo['id'], owner, koji.PRIO_DEFAULT + 5, min_event=min_event,
                        opts=opts)


def process(hub):
    """What kojira does on each pass: auto requests, the queue, end events.

    Runs inside other calls (host.getTasks, repo.request, repo.checkRequest), so a
    failure here (e.g. a disabled createrepo channel) is logged and rolled back, not
    passed on to the caller.
    """
    ctx = context.current()
    had_event = ctx._event_id is not None
    try:
        with hub.db.transaction():
            do_auto_requests(hub)
            check_repo_queue(hub)
            update_end_events(hub)
    except Exception:
        logger.exception('processing the repo queue failed')
        if not had_event:
            # the event made meanwhile was rolled back with the rest
            ctx.reset_event()


# -- the legacy newRepo call -----------------------------------------------------------------

def new_repo(hub, tag, event=None, src=False, debuginfo=False, separate_src=False):
    """newRepo: a newRepo task (channel createrepo, priority 15) with kojihub's arglist."""
    if not hub.config.allow_new_repo:
        raise koji.ActionNotAllowed('newRepo api call is disabled')
    sess = context.session()
    if not sess.hasPerm('regen-repo'):
        sess.assertPerm('repo')
    tags.get_tag(hub, tag, strict=True, event=event)
    opts = {}
    if event is not None:
        opts['event'] = event
    if src:
        opts['src'] = True
    if separate_src:
        opts['separate_src'] = True
    if debuginfo:
        opts['debuginfo'] = True
    args = koji.encode_args(tag, **opts)
    return tasks.make_task(hub, 'newRepo', args, priority=15, channel='createrepo')
