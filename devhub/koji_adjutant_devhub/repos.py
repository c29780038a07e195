"""Repositories: repoInit / repoDone, the repo read calls, repo options.

``repo_init`` writes kojihub's layout under ``<topdir>/repos/<tag>/<repo_id>/``
from the tag's content at the repo's event:

* ``repo.json`` (id, tag, tag_id, task_id, event_id, opts, custom_opts);
* ``groups/comps.xml``: the tag's groups (``koji.generate_comps``, groups
  expanded);
* one directory per tag arch (the tag's own ``arches``, canonical, without
  ``noarch``/``src``; plus ``src`` with the ``separate_src`` option) with
  ``toplink`` (relative symlink to topdir), ``pkglist`` (one
  ``toplink/packages/N/V/R/<arch>/<file>.rpm`` line per rpm), ``rpmlist.jsonl``
  (the same rpms as kojihub's readTaggedRPMS maps, one json object per line)
  and ``blocklist`` (names of blocked packages).

The rpms are those of the latest tagged builds (following inheritance,
minus blocked packages; all tagged builds with the tag extra
``repo_include_all``): an arch directory gets the rpms of its arch and all
``noarch`` ones; ``src`` rpms go to every arch with the ``src`` option and to
``src`` with ``separate_src``; debuginfo rpms only with ``debuginfo``.
"""

import json
import os
import shutil
import time

import koji

from . import context
from . import groups
from . import packages
from . import tagging
from . import tags
from . import uploads
from .hub import format_ts
from .query import query_view

RS = koji.REPO_STATES
REPO_OPTS = ('src', 'debuginfo', 'separate_src', 'maven')


def convert_repo_opts(opts, strict=False):
    """Validate repo options (all booleans); unknown keys are errors when strict."""
    if opts is None:
        return {}
    if not isinstance(opts, dict):
        if strict:
            raise koji.ParameterError('Repo opts must be a dictionary')
        return {}
    result = {}
    for key, value in opts.items():
        if key not in REPO_OPTS:
            if strict:
                raise koji.ParameterError('Invalid repo option: %s' % key)
            continue
        if value is None:
            continue
        result[key] = bool(value)
    return result


def get_repo_opts(taginfo, override=None):
    """(opts, custom): the tag's default repo options, with overrides applied.

    As kojihub's get_repo_opts with no SourceTags/DebuginfoTags/SeparateSourceTags
    patterns and Maven disabled: defaults all False, then the tag extra
    ``repo.opts`` (or the legacy ``with_debuginfo``), then the overrides; custom
    holds the overrides that differ from the tag's defaults.
    """
    opts = dict((key, False) for key in REPO_OPTS)
    tag_opts = dict(taginfo['extra'].get('repo.opts', {}) or {}) \
        if isinstance(taginfo['extra'].get('repo.opts', {}), dict) else {}
    if 'with_debuginfo' in taginfo['extra'] and 'repo.opts' not in taginfo['extra']:
        tag_opts['debuginfo'] = bool(taginfo['extra']['with_debuginfo'])
    opts.update(convert_repo_opts(tag_opts))
    opts['maven'] = False
    custom = {}
    if override is not None:
        override = convert_repo_opts(override)
        custom = dict((k, v) for k, v in override.items() if v != opts[k])
        opts.update(custom)
    return opts, custom


# -- reading -----------------------------------------------------------------------------

_REPO_SQL = (
    'SELECT repos.*, tags.name AS tag_name, ce.ts AS create_ts, be.ts AS begin_ts, '
    'ee.ts AS end_ts, tasks.state AS task_state FROM repos '
    'JOIN tags ON tags.id = repos.tag_id '
    'LEFT JOIN events AS ce ON ce.id = repos.create_event '
    'LEFT JOIN events AS be ON be.id = repos.begin_event '
    'LEFT JOIN events AS ee ON ee.id = repos.end_event '
    'LEFT JOIN tasks ON tasks.id = repos.task_id')

# field name -> needs a join (kojihub's RepoQuery fieldmap; '*' = fields without joins)
REPO_FIELDS = {
    'id': False, 'tag_id': False, 'creation_time': False, 'creation_ts': False,
    'state_time': False, 'state_ts': False, 'create_event': False, 'create_ts': True,
    'begin_event': False, 'begin_ts': True, 'end_event': False, 'end_ts': True,
    'state': False, 'dist': False, 'opts': False, 'custom_opts': False, 'task_id': False,
    'task_state': True, 'tag_name': True,
}
REPO_DEFAULT_FIELDS = ('id', 'tag_id', 'create_event', 'state', 'dist', 'task_id', 'opts',
                       'custom_opts')


def _repo_out(row):
    return {
        'id': row['id'],
        'tag_id': row['tag_id'],
        'creation_time': format_ts(row['creation_ts']),
        'creation_ts': row['creation_ts'],
        'state_time': format_ts(row['state_ts']),
        'state_ts': row['state_ts'],
        'create_event': row['create_event'],
        'create_ts': row['create_ts'],
        'begin_event': row['begin_event'],
        'begin_ts': row['begin_ts'],
        'end_event': row['end_event'],
        'end_ts': row['end_ts'],
        'state': row['state'],
        'dist': bool(row['dist']),
        'opts': json.loads(row['opts']) if row['opts'] else None,
        'custom_opts': json.loads(row['custom_opts']) if row['custom_opts'] else None,
        'task_id': row['task_id'],
        'task_state': row['task_state'],
        'tag_name': row['tag_name'],
    }


def all_repos(hub, where='', params=()):
    sql = _REPO_SQL + (' WHERE ' + where if where else '') + ' ORDER BY repos.id'
    return [_repo_out(row) for row in hub.db.query(sql, params)]


def repo_info(hub, repo_id, strict=False):
    """repoInfo: every field of the repo (kojihub's RepoQuery with fields '**')."""
    try:
        repo_id = int(repo_id)
    except (TypeError, ValueError):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (repo_id, type(repo_id), int))
    rows = all_repos(hub, 'repos.id = ?', (repo_id,))
    if not rows:
        if strict:
            raise koji.GenericError('No such repo: %s' % repo_id)
        return None
    return rows[0]


def _int_or_none(value, what):
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (value, type(value), int))


def get_repo(hub, tag, state=None, event=None, dist=False, min_event=None):
    """getRepo: the most recently created repo of a tag (READY unless state says otherwise;
    with ``event``: the newest created at or before it, in any state)."""
    tag_id = tags.get_tag_id(hub, tag, strict=True)
    state = _int_or_none(state, 'state')
    event = _int_or_none(event, 'event')
    min_event = _int_or_none(min_event, 'min_event')
    clauses = ['repos.tag_id = ?', 'repos.dist = ?']
    params = [tag_id, 1 if dist else 0]
    if event:
        clauses.append('repos.create_event <= ?')
        params.append(event)
    else:
        clauses.append('repos.state = ?')
        params.append(RS['READY'] if state is None else state)
    if min_event is not None:
        clauses.append('repos.create_event >= ?')
        params.append(min_event)
    rows = hub.db.query(_REPO_SQL + ' WHERE ' + ' AND '.join(clauses)
                        + ' ORDER BY repos.creation_ts DESC, repos.id DESC LIMIT 1', params)
    return _repo_out(rows[0]) if rows else None


def _opts_contain(big, small):
    """JSON containment of flat option dicts (PostgreSQL's @>)."""
    big = big or {}
    return all(key in big and big[key] == value for key, value in (small or {}).items())


def get_best_repo(hub, tag, min_event=None, at_event=None, opts=None):
    """repo.get: the newest READY repo with (at least) the given options and no custom
    options that were not asked for."""
    tag_id = tags.get_tag_id(hub, tag, strict=True)
    min_event = _int_or_none(min_event, 'min_event')
    at_event = _int_or_none(at_event, 'at_event')
    opts = convert_repo_opts(opts, strict=True)
    candidates = all_repos(hub, 'repos.tag_id = ? AND repos.dist = 0 AND repos.state = ?',
                           (tag_id, RS['READY']))
    result = None
    for repo in candidates:
        if not _opts_contain(repo['opts'], opts) or not _opts_contain(opts, repo['custom_opts']):
            continue
        if at_event is not None:
            if repo['create_event'] != at_event:
                continue
        elif min_event is not None and repo['create_event'] < min_event:
            continue
        if result is None or repo['create_event'] > result['create_event'] or \
                (repo['create_event'] == result['create_event'] and repo['id'] > result['id']):
            result = repo
    return result


def query_repos(hub, clauses=None, fields=None, opts=None):
    """repo.query: kojihub's RepoQuery over the dev hub's repos."""
    return query_view(all_repos(hub), REPO_FIELDS, REPO_DEFAULT_FIELDS, clauses, fields, opts)


def get_active_repos(hub):
    fields = ('id', 'state', 'task_id', 'create_event', 'create_ts', 'tag_id', 'dist',
              'tag_name')
    return [dict((f, repo[f]) for f in fields)
            for repo in all_repos(hub, 'repos.state != ?', (RS['DELETED'],))]


def repo_dir(hub, repo_id, tag_name):
    return hub.pathinfo.repo(repo_id, tag_name)


def repo_references(hub, repo_id):
    rows = hub.db.query('SELECT id, host_id, create_event, state FROM buildroots '
                        'WHERE repo_id = ? AND retire_event IS NULL ORDER BY id', (int(repo_id),))
    return [r for r in rows if r['state'] != koji.BR_STATES['EXPIRED']]


# -- repoInit ------------------------------------------------------------------------------

def repo_arches(taginfo, with_separate_src=False):
    """The arch directories of a repo: the tag's own arches, canonical, no noarch/src."""
    result = []
    if with_separate_src:
        result.append('src')
    for arch in (taginfo['arches'] or '').split():
        arch = koji.canonArch(arch)
        if arch in ('src', 'noarch') or arch in result:
            continue
        result.append(arch)
    return result


def repo_init(hub, tag, task_id=None, event=None, opts=None):
    """Create a repo (state INIT) with its content files; returns [repo_id, event_id]."""
    if task_id is not None:
        if isinstance(task_id, bool):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (task_id, type(task_id), int))
        task_id = _int_or_none(task_id, 'task_id')
    taginfo = tags.get_tag(hub, tag, strict=True, event=event)
    repo_opts, custom = get_repo_opts(taginfo, override=opts)
    if opts and convert_repo_opts(opts).get('maven'):
        raise koji.GenericError('Maven support not enabled')
    tag_id = taginfo['id']
    if event is None:
        event_id = context.state_changed()
    else:
        event_id = _int_or_none(event, 'event')
        if hub.db.value('SELECT id FROM events WHERE id = ?', (event_id,)) is None:
            raise koji.GenericError('query returned no rows')
        context.state_changed()
    begin = tagging.tag_last_change_event(hub, tag_id, before=event_id + 1)
    end = tagging.tag_first_change_event(hub, tag_id, after=event_id)
    now = time.time()
    repo_id = hub.db.insert('repos', tag_id=tag_id, state=RS['INIT'], create_event=event_id,
                            creation_ts=now, state_ts=now, task_id=task_id, dist=0,
                            opts=json.dumps(repo_opts), custom_opts=json.dumps(custom),
                            begin_event=begin, end_event=end)
    latest = not taginfo['extra'].get('repo_include_all', False)
    rpms, builds = tagging.read_tagged_rpms(hub, tag_id, event=event_id, inherit=True,
                                            latest=latest)
    tag_groups = groups.read_tag_groups(hub, tag_id, event=event_id, inherit=True)
    listing = packages.read_package_list(hub, tag_id, event=event_id, inherit=True,
                                         with_owners=False)
    blocks = [pkg for pkg in listing.values() if pkg['blocked']]
    repodir = repo_dir(hub, repo_id, taginfo['name'])
    os.makedirs(repodir)
    os.makedirs(os.path.join(repodir, 'groups'))
    with open(os.path.join(repodir, 'groups', 'comps.xml'), 'wt', encoding='utf-8') as fo:
        fo.write(koji.generate_comps(tag_groups, expand_groups=True))
    info = {'id': repo_id, 'tag': taginfo['name'], 'tag_id': tag_id, 'task_id': task_id,
            'event_id': event_id, 'opts': repo_opts, 'custom_opts': custom}
    with open(os.path.join(repodir, 'repo.json'), 'wt', encoding='utf-8') as fo:
        json.dump(info, fo, indent=2)

    relpathinfo = koji.PathInfo(topdir='toplink')
    builddirs = dict((b['id'], relpathinfo.build(b).lstrip('/')) for b in builds)
    arches = repo_arches(taginfo, repo_opts['separate_src'])
    pkglists, rpmlists = {}, {}
    for arch in arches:
        archdir = os.path.join(repodir, arch)
        os.makedirs(archdir)
        os.symlink(os.path.relpath(hub.topdir, archdir), os.path.join(archdir, 'toplink'))
        pkglists[arch] = open(os.path.join(archdir, 'pkglist'), 'wt', encoding='utf-8')
        rpmlists[arch] = open(os.path.join(archdir, 'rpmlist.jsonl'), 'wt', encoding='utf-8')
    try:
        for rpminfo in rpms:
            if not repo_opts['debuginfo'] and koji.is_debuginfo(rpminfo['name']):
                continue
            line = '%s/%s\n' % (builddirs[rpminfo['build_id']], relpathinfo.rpm(rpminfo))
            jline = json.dumps(rpminfo) + '\n'
            arch = rpminfo['arch']
            if arch == 'src':
                targets = []
                if repo_opts['src']:
                    targets = [a for a in arches if a != 'src']
                if repo_opts['separate_src']:
                    targets.append('src')
            elif arch == 'noarch':
                targets = [a for a in arches if a != 'src']
            else:
                canon = koji.canonArch(arch)
                targets = [canon] if canon in pkglists and canon != 'src' else []
            for target in targets:
                pkglists[target].write(line)
                rpmlists[target].write(jline)
    finally:
        for fo in list(pkglists.values()) + list(rpmlists.values()):
            fo.close()
    for arch in arches:
        with open(os.path.join(repodir, arch, 'blocklist'), 'wt', encoding='utf-8') as fo:
            for pkg in blocks:
                fo.write(pkg['package_name'] + '\n')
    return [repo_id, event_id]


# -- state changes ---------------------------------------------------------------------------

def _set_state(hub, repo_id, state, check=True):
    old = hub.db.value('SELECT state FROM repos WHERE id = ?', (repo_id,))
    if old is None:
        raise koji.GenericError('query returned no rows')
    if check and old > state:
        raise koji.GenericError('Invalid repo state transition %s->%s' % (old, state))
    hub.db.update('repos', 'id = ?', (repo_id,), state=state, state_ts=time.time())
    context.state_changed()


def repo_set_state(hub, repo_id, state, check=True):
    _set_state(hub, _int_or_none(repo_id, 'repo_id'), _int_or_none(state, 'state'), check)


def repo_expire(hub, repo_id):
    _set_state(hub, int(repo_id), RS['EXPIRED'])


def repo_problem(hub, repo_id):
    _set_state(hub, int(repo_id), RS['PROBLEM'])


def repo_delete(hub, repo_id):
    """Mark deleted unless buildroots still use it; returns the reference count."""
    repo_id = int(repo_id)
    refs = repo_references(hub, repo_id)
    if not refs:
        _set_state(hub, repo_id, RS['DELETED'])
    return len(refs)


def repo_expire_older(hub, tag_id, event_id, dist=None):
    sql = 'UPDATE repos SET state = ?, state_ts = ? WHERE tag_id = ? AND create_event < ? ' \
          'AND state = ?'
    params = [RS['EXPIRED'], time.time(), tag_id, event_id, RS['READY']]
    if dist is not None:
        sql += ' AND dist = ?'
        params.append(1 if dist else 0)
    hub.db.execute(sql, params)


def symlink_if_latest(hub, repo):
    """Point repos/<tag>/latest at the repo if it is the newest default-options one."""
    if repo['custom_opts'] and not repo['dist']:
        return False
    newer = [r for r in all_repos(hub, 'repos.tag_id = ? AND repos.state = ? AND '
                                       'repos.create_event > ?',
                                  (repo['tag_id'], RS['READY'], repo['create_event']))
             if (r['dist'] if repo['dist'] else not r['custom_opts'])]
    if newer:
        return False
    if repo['dist']:
        link = hub.pathinfo.distrepo('latest', repo['tag_name'])
    else:
        link = hub.pathinfo.repo('latest', repo['tag_name'])
    try:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(str(repo['id']), link)
    except OSError:
        return False
    return True


def repo_done(hub, repo_id, data, expire=False, repo_json_updates=None):
    """Move uploaded repodata into place and mark the repo READY (or EXPIRED); a READY
    repo fulfils the repo requests it satisfies.  A dist repo only changes state (and
    its ``repos-dist/<tag>/latest`` link)."""
    rinfo = repo_info(hub, repo_id, strict=True)
    if not isinstance(data, dict):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (data, type(data), dict))
    if rinfo['state'] != RS['INIT']:
        raise koji.GenericError('Repo %(id)s not in INIT state (got %(state)s)' % rinfo)
    repodir = repo_dir(hub, rinfo['id'], rinfo['tag_name'])
    if repo_json_updates:
        if not isinstance(repo_json_updates, dict):
            raise koji.ParameterError('repo_json_updates must be a dict')
        path = os.path.join(repodir, 'repo.json')
        with open(path, 'rt', encoding='utf-8') as fo:
            repo_json = json.load(fo)
        repo_json.update(repo_json_updates)
        with open(path, 'wt', encoding='utf-8') as fo:
            json.dump(repo_json, fo, indent=2)
    moves = []
    # a dist repo's files were moved in by host.distRepoMove: nothing to move here
    for arch, entry in ([] if rinfo['dist'] else data.items()):
        try:
            uploadpath, files = entry
        except (TypeError, ValueError):
            raise koji.ParameterError('repo data for %s must be [uploadpath, [files]]' % arch)
        archdir = os.path.join(repodir, koji.canonArch(arch))
        if not os.path.isdir(archdir):
            raise koji.GenericError('Repo arch directory missing: %s' % archdir)
        srcdir = uploads.safe_work_dir(hub, uploadpath)
        for fn in files:
            uploads.check_file_name(fn)
            src = os.path.join(srcdir, fn)
            if fn.endswith('pkglist'):
                dst = os.path.join(archdir, fn)
            else:
                dst = os.path.join(archdir, 'repodata', fn)
            if not os.path.exists(src):
                raise koji.GenericError('uploaded file missing: %s' % src)
            moves.append((src, dst))
    for src, dst in moves:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.lexists(dst):
            raise koji.GenericError('Destination exists: %s' % dst)
        shutil.move(src, dst)
    if expire:
        _set_state(hub, rinfo['id'], RS['EXPIRED'])
        return None
    _set_state(hub, rinfo['id'], RS['READY'])
    repo_expire_older(hub, rinfo['tag_id'], rinfo['create_event'], rinfo['dist'])
    symlink_if_latest(hub, rinfo)
    fulfil_requests(hub, repo_info(hub, rinfo['id']))
    return None


def fulfil_requests(hub, repo):
    """Mark the active repo requests (``repoqueue``) a newly READY repo satisfies as
    fulfilled by it (kojihub's repo_done_hook)."""
    if not repo or repo['dist'] or repo['opts'] is None or repo['custom_opts'] is None:
        return
    for req in hub.db.query('SELECT id, opts, min_event, at_event FROM repo_queue '
                            'WHERE tag_id = ? AND active = 1 AND repo_id IS NULL ORDER BY id',
                            (repo['tag_id'],)):
        req_opts = json.loads(req['opts'])
        opts_ok = all(repo['opts'].get(k) == v for k, v in req_opts.items()) and \
            all(req_opts.get(k) == v for k, v in repo['custom_opts'].items())
        if not opts_ok:
            continue
        if (req['min_event'] is not None and req['min_event'] <= repo['create_event']) or \
                req['at_event'] == repo['create_event']:
            hub.db.update('repo_queue', 'id = ?', (req['id'],), repo_id=repo['id'], active=0,
                          update_ts=time.time())
