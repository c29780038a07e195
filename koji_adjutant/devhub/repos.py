"""Repositories: repoInit / repoDone and the read side (repoInfo, getRepo).

Layout written under ``<topdir>/repos/<tag>/<repo_id>/`` (as kojihub does):
``repo.json``, ``groups/comps.xml`` and, per arch, ``toplink`` (a relative
symlink to topdir), ``pkglist``, ``rpmlist.jsonl``, ``blocklist`` and,
after repoDone, ``repodata/``.  The dev hub has no builds yet, so package
lists are empty and comps has no groups.
"""

import json
import os
import shutil
import time

import koji

from . import context
from . import tags
from . import uploads
from .hub import format_ts

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


def repo_opts_for_tag(taginfo, override=None):
    """(opts, custom): the tag's default repo options, with overrides applied."""
    opts = dict((key, False) for key in REPO_OPTS)
    opts.update(convert_repo_opts(taginfo['extra'].get('repo.opts', {})))
    if 'with_debuginfo' in taginfo['extra'] and 'repo.opts' not in taginfo['extra']:
        opts['debuginfo'] = bool(taginfo['extra']['with_debuginfo'])
    custom = {}
    if override:
        override = convert_repo_opts(override, strict=True)
        custom = dict((k, v) for k, v in override.items() if v != opts[k])
        opts.update(custom)
    if opts.get('maven'):
        raise koji.GenericError('Maven support not enabled')
    return opts, custom


def _repo_out(row, tag_name):
    return {
        'id': row['id'],
        'state': row['state'],
        'task_id': row['task_id'],
        'create_event': row['create_event'],
        'creation_time': format_ts(row['creation_ts']),
        'creation_ts': row['creation_ts'],
        'create_ts': row['creation_ts'],
        'state_time': format_ts(row['state_ts']),
        'state_ts': row['state_ts'],
        'tag_id': row['tag_id'],
        'tag_name': tag_name,
        'dist': bool(row['dist']),
        'opts': json.loads(row['opts'] or '{}'),
        'custom_opts': json.loads(row['custom_opts'] or '{}'),
        'begin_event': None,
        'end_event': None,
    }


def repo_info(hub, repo_id, strict=False):
    """repoInfo: the repo map (id, state, create_event, tag_id, tag_name, ...)."""
    try:
        repo_id = int(repo_id)
    except (TypeError, ValueError):
        raise koji.ParameterError('Invalid repo id: %r' % (repo_id,))
    row = hub.db.one('SELECT repos.*, tags.name AS tag_name FROM repos '
                     'JOIN tags ON tags.id = repos.tag_id WHERE repos.id = ?', (repo_id,))
    if row is None:
        if strict:
            raise koji.GenericError('No such repo: %s' % repo_id)
        return None
    return _repo_out(row, row['tag_name'])


def get_repo(hub, tag, state=None, event=None, dist=False, min_event=None):
    """getRepo: the newest repo of a tag (READY unless state/event say otherwise)."""
    tag_id = tags.get_tag(hub, tag, strict=True)['id']
    clauses = ['repos.tag_id = ?', 'repos.dist = ?']
    params = [tag_id, 1 if dist else 0]
    if event:
        clauses.append('repos.create_event <= ?')
        params.append(int(event))
    else:
        clauses.append('repos.state = ?')
        params.append(RS['READY'] if state is None else int(state))
    if min_event is not None:
        clauses.append('repos.create_event >= ?')
        params.append(int(min_event))
    row = hub.db.one('SELECT repos.*, tags.name AS tag_name FROM repos JOIN tags '
                     'ON tags.id = repos.tag_id WHERE ' + ' AND '.join(clauses)
                     + ' ORDER BY repos.create_event DESC, repos.id DESC LIMIT 1', params)
    if row is None:
        return None
    return _repo_out(row, row['tag_name'])


def get_active_repos(hub):
    rows = hub.db.query('SELECT repos.*, tags.name AS tag_name FROM repos JOIN tags '
                        'ON tags.id = repos.tag_id WHERE repos.state != ? ORDER BY repos.id',
                        (RS['DELETED'],))
    return [_repo_out(row, row['tag_name']) for row in rows]


def repo_dir(hub, repo_id, tag_name):
    return hub.pathinfo.repo(repo_id, tag_name)


def _repo_arches(hub, taginfo):
    arches = taginfo['arches']
    if not arches:
        # a tag without arches of its own uses the inherited ones
        arches = tags.get_build_config(hub, taginfo['id'])['arches']
    result = []
    for arch in (arches or '').split():
        arch = koji.canonArch(arch)
        if arch in ('src', 'noarch') or arch in result:
            continue
        result.append(arch)
    return result


def repo_init(hub, tag, task_id=None, event=None, opts=None):
    """Create a repo in state INIT and its directory; returns [repo_id, event_id]."""
    if task_id is not None:
        task_id = int(task_id)
    taginfo = tags.get_tag(hub, tag, strict=True, event=event)
    repo_opts, custom = repo_opts_for_tag(taginfo, opts)
    if event is None:
        event_id = context.state_changed()
    else:
        if hub.db.value('SELECT id FROM events WHERE id = ?', (int(event),)) is None:
            raise koji.GenericError('No such event: %s' % event)
        event_id = int(event)
        context.state_changed()
    arches = _repo_arches(hub, taginfo)
    if repo_opts['separate_src']:
        arches.append('src')
    now = time.time()
    repo_id = hub.db.insert('repos', tag_id=taginfo['id'], state=RS['INIT'],
                            create_event=event_id, creation_ts=now, state_ts=now,
                            task_id=task_id, dist=0, opts=json.dumps(repo_opts),
                            custom_opts=json.dumps(custom))
    repodir = repo_dir(hub, repo_id, taginfo['name'])
    os.makedirs(repodir)
    groupsdir = os.path.join(repodir, 'groups')
    os.makedirs(groupsdir)
    with open(os.path.join(groupsdir, 'comps.xml'), 'wt', encoding='utf-8') as fo:
        fo.write(koji.generate_comps([], expand_groups=True))
    info = {
        'id': repo_id,
        'tag': taginfo['name'],
        'tag_id': taginfo['id'],
        'task_id': task_id,
        'event_id': event_id,
        'opts': repo_opts,
        'custom_opts': custom,
        'with_src': repo_opts['src'],
        'with_separate_src': repo_opts['separate_src'],
        'with_debuginfo': repo_opts['debuginfo'],
    }
    with open(os.path.join(repodir, 'repo.json'), 'wt', encoding='utf-8') as fo:
        json.dump(info, fo, indent=2)
    for arch in arches:
        archdir = os.path.join(repodir, arch)
        os.makedirs(archdir)
        os.symlink(os.path.relpath(hub.topdir, archdir), os.path.join(archdir, 'toplink'))
        for name in ('pkglist', 'rpmlist.jsonl', 'blocklist'):
            open(os.path.join(archdir, name), 'wt').close()
    return [repo_id, event_id]


def _set_state(hub, repo_id, state, check=True):
    old = hub.db.value('SELECT state FROM repos WHERE id = ?', (repo_id,))
    if old is None:
        raise koji.GenericError('No such repo: %s' % repo_id)
    if check and old > state:
        raise koji.GenericError('Invalid repo state transition %s->%s' % (old, state))
    hub.db.update('repos', 'id = ?', (repo_id,), state=state, state_ts=time.time())
    context.state_changed()


def repo_expire(hub, repo_id):
    _set_state(hub, int(repo_id), RS['EXPIRED'])


def repo_problem(hub, repo_id):
    _set_state(hub, int(repo_id), RS['PROBLEM'])


def repo_delete(hub, repo_id):
    """Mark deleted unless buildroots still use it; returns the reference count."""
    repo_id = int(repo_id)
    refs = hub.db.value('SELECT COUNT(*) FROM buildroots WHERE repo_id = ? AND state != ?',
                        (repo_id, koji.BR_STATES['EXPIRED']))
    if not refs:
        _set_state(hub, repo_id, RS['DELETED'])
    return refs


def repo_done(hub, repo_id, data, expire=False, repo_json_updates=None):
    """Move uploaded repodata into place and mark the repo READY (or EXPIRED)."""
    rinfo = repo_info(hub, repo_id, strict=True)
    if not isinstance(data, dict):
        raise koji.ParameterError('Invalid type for data: %s, expected dict' % type(data))
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
    for arch, entry in data.items():
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
        shutil.move(src, dst)
    if expire:
        _set_state(hub, rinfo['id'], RS['EXPIRED'])
        return
    _set_state(hub, rinfo['id'], RS['READY'])
    # expire older ready repos of the tag
    hub.db.execute('UPDATE repos SET state = ?, state_ts = ? WHERE tag_id = ? AND state = ? '
                   'AND create_event < ? AND dist = 0',
                   (RS['EXPIRED'], time.time(), rinfo['tag_id'], RS['READY'],
                    rinfo['create_event']))
    latest = hub.pathinfo.repo('latest', rinfo['tag_name'])
    try:
        if os.path.lexists(latest):
            os.unlink(latest)
        os.symlink(str(rinfo['id']), latest)
    except OSError:
        pass
