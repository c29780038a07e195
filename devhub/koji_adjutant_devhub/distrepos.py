"""Dist repos: ``distRepo`` (kojihub's dist_repo_init and the task it makes) and
``host.distRepoMove``.

A dist repo is a repo row with ``dist`` set and no options, made for a tag
and a list of signing keys.  It lives under ``<topdir>/repos-dist/<tag>/<id>/``
(``koji.pathinfo.distrepo``), not under ``repos/``:

* ``distRepo`` writes ``repo.json`` (id, tag, tag_id, keys, volume,
  task_opts as the caller gave them), one empty directory per (canonical)
  arch of ``task_opts['arch']`` and, with the ``comps`` option, copies that
  uploaded file (a path under ``work/``) to ``groups/comps.xml``; then it
  makes a ``distRepo`` task ``[tag, repo_id, keys, task_opts]`` (``event``
  filled in) in channel ``createrepo`` with priority 15.
* The builder's ``createdistrepo`` subtasks upload one arch's repo each;
  ``host.distRepoMove(repo_id, uploadpath, arch)`` moves the files its
  ``repo_manifest`` lists into ``<arch>/`` and hardlinks (or copies) every rpm
  of its ``kojipkgs`` (the signed copy for its ``sigkey``, else the primary
  rpm) to ``<arch>/Packages/<first letter>/<file>``.
* ``host.repoDone(repo_id, {})`` marks it READY (nothing is moved for a dist
  repo) and points ``repos-dist/<tag>/latest`` at it.
"""

import os
import shutil
import time

import koji
import koji.util

from . import builds
from . import cancel
from . import context
from . import policy
from . import repos
from . import tags
from . import tasks
from . import uploads

RS = koji.REPO_STATES
TS = koji.TASK_STATES


def _type_error(value, expected):
    return koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                               % (value, type(value), expected))


def dist_repo_dir(hub, repo_id, tag_name):
    return koji.PathInfo(topdir=hub.topdir).distrepo(repo_id, tag_name)


def dist_repo_init(hub, tag, keys, task_opts):
    """Create the dist repo (INIT) and its directories; returns (repo_id, event_id)."""
    if not isinstance(keys, list):
        raise _type_error(keys, list)
    tinfo = tags.get_tag(hub, tag, strict=True)
    if not isinstance(task_opts, dict):
        raise _type_error(task_opts, dict)
    event = task_opts.get('event')
    if event is not None:
        try:
            event = int(event)
        except (TypeError, ValueError):
            raise _type_error(event, int)
    volume = task_opts.get('volume')
    if volume is not None:
        volume = builds.get_volume(volume, strict=True)['name']
    # as kojihub: the arch option is required (a KeyError without it)
    arches = sorted(set(koji.canonArch(a) for a in task_opts['arch']))
    if event:
        # kojihub stores the event as given (the database refuses one that does not exist)
        if hub.db.value('SELECT id FROM events WHERE id = ?', (event,)) is None:
            raise koji.GenericError('No such event: %s' % event)
        context.state_changed()
    else:
        event = context.state_changed()
    comps = task_opts.get('comps')
    comps_src = None
    if comps:
        if not isinstance(comps, str):
            raise _type_error(comps, str)
        comps_src = os.path.join(uploads.safe_work_dir(hub, os.path.dirname(comps)),
                                 os.path.basename(comps))
    now = time.time()
    repo_id = hub.db.insert('repos', tag_id=tinfo['id'], state=RS['INIT'], create_event=event,
                            creation_ts=now, state_ts=now, task_id=None, dist=1, opts='',
                            custom_opts='', begin_event=None, end_event=None)
    repodir = dist_repo_dir(hub, repo_id, tinfo['name'])
    for arch in arches:
        os.makedirs(os.path.join(repodir, arch), exist_ok=True)
    if comps_src is not None:
        os.makedirs(os.path.join(repodir, 'groups'), exist_ok=True)
        shutil.copyfile(comps_src, os.path.join(repodir, 'groups', 'comps.xml'))
    info = {'id': repo_id, 'tag': tinfo['name'], 'tag_id': tinfo['id'], 'keys': keys,
            'volume': volume, 'task_opts': task_opts}
    koji.dump_json(os.path.join(repodir, 'repo.json'), info, indent=2)
    return repo_id, event


def dist_repo(hub, tag, keys, task_opts):
    """distRepo: the dist repo and its distRepo task; returns the task id."""
    sess = context.session()
    if not sess.hasPerm('dist-repo') and not sess.hasPerm('admin'):
        # a stock hub has no dist_repo policy: allowed (MissingPolicyOk)
        policy.assert_policy('dist_repo', {'tag': tag})
    repo_id, event_id = dist_repo_init(hub, tag, keys, task_opts)
    task_opts['event'] = event_id
    config = tags.get_build_config(hub, tag)
    if config['extra'].get('distrepo.cancel_others', False):
        active = tasks.list_tasks(hub, {'state': [TS['FREE'], TS['OPEN'], TS['ASSIGNED']],
                                        'method': 'distRepo', 'decode': True})
        for task in active:
            if task['request'][0] == tag:
                cancel.cancel_task(hub, task['id'], recurse=True)
    return tasks.make_task(hub, 'distRepo', [tag, repo_id, keys, task_opts], priority=15,
                           channel='createrepo')


def _inside(path, top):
    real_top = os.path.realpath(top)
    real = os.path.realpath(path)
    return real == real_top or real.startswith(real_top + os.sep)


RPM_CHECK_KEYS = ('name', 'version', 'release', 'arch', 'epoch', 'size', 'payloadhash',
                  'build_id')


def dist_repo_move(hub, repo_id, uploadpath, arch):
    """host.distRepoMove: one arch's uploaded repo files and its rpms into the dist repo."""
    rinfo = repos.repo_info(hub, repo_id, strict=True)
    repodir = dist_repo_dir(hub, rinfo['id'], rinfo['tag_name'])
    archdir = os.path.join(repodir, koji.canonArch(arch))
    if not os.path.isdir(archdir):
        raise koji.GenericError('Repo arch directory missing: %s' % archdir)
    if rinfo['state'] != RS['INIT']:
        raise koji.GenericError('Repo is in state: %s' % RS[rinfo['state']])
    srcdir = uploads.safe_work_dir(hub, uploadpath)
    fn = os.path.join(srcdir, 'repo_manifest')
    if not os.path.isfile(fn):
        raise koji.GenericError('Missing repo manifest')
    files = koji.load_json(fn)
    fn = os.path.join(srcdir, 'kojipkgs')
    if not os.path.isfile(fn):
        raise koji.GenericError('Missing kojipkgs file')
    kojipkgs = koji.load_json(fn)
    if not isinstance(files, list) or not isinstance(kojipkgs, dict):
        raise koji.GenericError('Invalid repo manifest or kojipkgs file')

    moves = []
    for relpath in files:
        src = os.path.join(srcdir, relpath)
        dst = os.path.join(archdir, relpath)
        # stricter than kojihub: manifest entries stay inside the upload and arch dirs
        if not _inside(src, srcdir) or not _inside(dst, archdir):
            raise koji.GenericError('Invalid path in repo manifest: %s' % relpath)
        if not os.path.exists(src):
            raise koji.GenericError('uploaded file missing: %s' % src)
        moves.append((src, dst))

    links = []
    build_dirs = {}
    for bnp, rpminfo in kojipkgs.items():
        db_rpm = builds.get_rpm(hub, rpminfo['id'], strict=True)
        for key in RPM_CHECK_KEYS:
            if key not in rpminfo or rpminfo[key] != db_rpm[key]:
                raise koji.GenericError('kojipkgs entry does not match db: file %s, key %s'
                                        % (bnp, key))
        sigkey = rpminfo['sigkey']
        if sigkey is None or sigkey == '':
            relpath = koji.pathinfo.rpm(rpminfo)
        else:
            relpath = koji.pathinfo.signed(rpminfo, sigkey)
        if rpminfo['build_id'] not in build_dirs:
            binfo = builds.get_build(hub, rpminfo['build_id'], strict=True)
            build_dirs[rpminfo['build_id']] = builds.build_dir(hub, binfo)
        rpmpath = os.path.join(build_dirs[rpminfo['build_id']], relpath)
        uploads.check_file_name(bnp)
        # stricter than kojihub (which fails half way, on the link): every rpm is there
        # before anything moves
        if not os.path.isfile(rpmpath):
            raise koji.GenericError('No such file: %s' % rpmpath)
        links.append((rpmpath, os.path.join(archdir, 'Packages', bnp[0].lower(), bnp)))

    for src, dst in moves:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        koji.util.safer_move(src, dst)
    for rpmpath, dst in links:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.exists(dst):
            # kojihub gives the message and the path as two arguments, and clients see the
            # fault string that makes
            raise koji.GenericError('File already in repo: %s', dst)  # pylint: disable=raising-format-tuple
        try:
            os.link(rpmpath, dst)
        except OSError as e:
            if e.errno != 18:  # EXDEV: another file system, so copy
                raise
            shutil.copy2(rpmpath, dst)
    return None
