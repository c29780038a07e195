"""The builder's side of rpm builds: initBuild, completeBuild, failBuild, scratch.

The rules are kojihub's (``HostExports.initBuild``/``completeBuild``/
``failBuild``/``moveBuildToScratch`` with ``new_build``, ``import_build``,
``import_rpm``, ``check_noarch_rpms``, ``import_build_log``; ``cancel_build`` is in
``cancel``):

* ``initBuild`` makes a BUILDING build owned by the task's owner; an existing
  N-V-R is refused unless it is FAILED or CANCELED (and never tagged, no rpms),
  or BUILDING for the same task (a restarted build task);
* ``completeBuild`` imports the uploaded files: paths are relative to
  ``<topdir>/work`` (the builder's task upload directories), the SRPM's header
  must be the build's N-V-R-E, every rpm must be named ``N-V-R.A.rpm`` from its
  header and come from that SRPM, the buildroot ids of ``brmap`` must exist,
  noarch rpms built on several arches must not differ (``noarch_rpmdiff.json``
  hashes, else rpmdiff); rpms move to ``packages/N/V/R/<arch>/``, logs to
  ``packages/N/V/R/data/logs/<arch>/``, each leaving a relative symlink behind;
* ``failBuild`` turns a BUILDING build FAILED;
* ``moveBuildToScratch`` moves the files to ``scratch/<owner>/task_<id>/``.

Stricter than kojihub (both would only reject a broken builder): paths that
leave ``work/`` are refused, brmap buildroots must belong to the build task or
one of its subtasks, and every file is checked before the first one moves
(kojihub moves files as it goes and only rolls its database back).
"""

import json
import os
import time

import koji
import koji.rpmdiff
import koji.util

from . import buildroots
from . import builds
from . import notifications
from . import users
from .hub import format_ts

BS = koji.BUILD_STATES


def _check_type(value, cast):
    if not isinstance(value, cast) or isinstance(value, bool):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (value, type(value), cast))
    return value


def work_path(hub, relpath):
    """<topdir>/work/<relpath> for a path a builder reports (a task upload path)."""
    _check_type(relpath, str)
    if os.path.isabs(relpath):
        # kojihub joins it under work/ too, where it does not exist
        raise koji.GenericError('No such file: %s/%s' % (hub.workdir, relpath))
    path = os.path.normpath(os.path.join(hub.workdir, relpath))
    if not path.startswith(hub.workdir + os.sep):
        raise koji.GenericError('Invalid path (outside work/): %s' % relpath)
    return path


def _existing(hub, relpath):
    fn = work_path(hub, relpath)
    if not os.path.exists(fn):
        raise koji.GenericError('No such file: %s' % fn)
    return fn


# -- noarch rpms built on several arches --------------------------------------------

def _hash_key(relpath):
    """The key kojihub looks hashes up by: the path's second component.

    For ``tasks/<id % 10000>/<id>/<file>`` that is the task id only while ids are
    below 10000; otherwise the lookup misses and rpmdiff runs, as on kojihub.
    """
    parts = relpath.split('/')
    return parts[1] if len(parts) > 1 else None


def rpmdiff(hub, relpaths, hashes):
    """Refuse noarch rpms of the same name that differ (BuildError, as kojihub)."""
    first = relpaths[0]
    first_hash = hashes.get(_hash_key(first), {}).get(os.path.basename(first))
    for other in relpaths[1:]:
        if first_hash:
            other_hash = hashes.get(_hash_key(other), {}).get(os.path.basename(other))
            if other_hash == first_hash:
                continue
        diff = koji.rpmdiff.Rpmdiff(work_path(hub, first), work_path(hub, other),
                                    ignore='S5TN')
        if diff.differs():
            raise koji.BuildError(
                'The following noarch package built differently on different architectures: '
                '%s\nrpmdiff output was:\n%s' % (os.path.basename(first), diff.textdiff()))


def check_noarch_rpms(hub, rpms, logs=None):
    """The rpm list without repeated noarch rpms (first kept), the repeats compared."""
    result = []
    noarch = {}
    for relpath in rpms:
        if relpath.endswith('.noarch.rpm'):
            name = os.path.basename(relpath)
            if name in noarch:
                noarch[name].append(relpath)
                continue
            noarch[name] = [relpath]
        result.append(relpath)
    hashes = {}
    for files in (logs or {}).values():
        for log in files:
            if os.path.basename(log) == 'noarch_rpmdiff.json':
                with open(_existing(hub, log)) as fo:
                    hashes.update(json.load(fo))
    for relpaths in noarch.values():
        if len(relpaths) > 1:
            rpmdiff(hub, relpaths, hashes)
    return result


# -- initBuild -------------------------------------------------------------------------

def init_build(hub, task, data):
    """A BUILDING build for a build task (owner: the task's owner); returns its id."""
    _check_type(data, dict)
    data = dict(data)
    data['owner'] = task.get_owner()
    data['state'] = BS['BUILDING']
    data['completion_time'] = None
    return builds.new_build(hub, data)


# -- completeBuild -------------------------------------------------------------------

def _task_family(hub, task_id):
    family, todo = {task_id}, [task_id]
    while todo:
        children = hub.db.column('SELECT id FROM tasks WHERE parent = ?', (todo.pop(),))
        todo.extend(c for c in children if c not in family)
        family.update(children)
    return family


def _check_brmap(hub, brmap, task_id):
    family = None
    for br_id in set(brmap.values()):
        row = buildroots.buildroot_row(hub, br_id)  # GenericError 'no buildroot with ID'
        if task_id is None:
            continue
        if family is None:
            family = _task_family(hub, task_id)
        if row['task_id'] not in family:
            raise koji.GenericError('Buildroot %s is not a buildroot of task %s or its '
                                    'subtasks (task %s)' % (br_id, task_id, row['task_id']))


def _log_target(hub, binfo, fn, subdir):
    logdir = os.path.join(build_logs_dir(hub, binfo), subdir) if subdir else \
        build_logs_dir(hub, binfo)
    return os.path.join(logdir, os.path.basename(fn))


def build_logs_dir(hub, binfo):
    return os.path.join(builds.build_dir(hub, binfo), 'data', 'logs')


def get_build_logs(hub, build_info):
    """getBuildLogs: the build's log files, as [{name, dir, path}] (``dir`` is the
    subdirectory under data/logs - the arch for rpm builds - ``path`` is relative to
    the topdir)."""
    binfo = builds.get_build(hub, build_info, strict=True)
    logdir = build_logs_dir(hub, binfo)
    logs = []
    for dirpath, dirnames, filenames in os.walk(logdir):
        dirnames.sort()
        subdir = os.path.relpath(dirpath, logdir)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            logs.append({'name': name, 'dir': subdir,
                         'path': os.path.relpath(path, hub.topdir)})
    return logs


def _check_log(fn, final):
    if os.path.exists(final):
        raise koji.GenericError('Error importing build log. %s already exists.' % final)
    if os.path.islink(fn) or not os.path.isfile(fn):
        raise koji.GenericError('Error importing build log. %s is not a regular file.' % fn)


def import_build(hub, srpm, rpms, brmap=None, task_id=None, build_id=None, logs=None):
    """Import a build's uploaded files (kojihub's import_build); returns the build."""
    if brmap is None:
        brmap = {}
    else:
        _check_type(brmap, dict)
    _check_type(srpm, str)
    _check_type(rpms, list)
    if logs is not None:
        _check_type(logs, dict)
    for relpath in [srpm] + rpms:
        _existing(hub, relpath)
    rpms = check_noarch_rpms(hub, rpms, logs=logs)
    _check_brmap(hub, brmap, task_id)

    fn = work_path(hub, srpm)
    try:
        header = koji.get_header_fields(fn, ('name', 'version', 'release', 'epoch',
                                             'sourcepackage'))
    except Exception as e:
        raise koji.GenericError('Unable to read rpm header of %s: %s'
                                % (os.path.basename(fn), e))
    if header['sourcepackage'] != 1:
        raise koji.GenericError('not a source package: %s' % fn)
    header['task_id'] = task_id
    if build_id is None:
        raise koji.GenericError('completeBuild needs the build id from initBuild')
    binfo = builds.get_build(hub, build_id, strict=True)
    for key in ('name', 'version', 'release', 'epoch', 'task_id'):
        if header[key] != binfo[key]:
            raise koji.GenericError('Unable to complete build: %s mismatch (build: %s, rpm: %s)'
                                    % (key, binfo[key], header[key]))
    if binfo['state'] != BS['BUILDING']:
        raise koji.GenericError('Unable to complete build: state is %s'
                                % BS[binfo['state']])

    # every file is checked before the first one moves
    files, seen = [], set()
    for relpath in [srpm] + rpms:
        fn = work_path(hub, relpath)
        _hdr, rpminfo, _b = builds.read_rpm(hub, fn, binfo)
        nvra = koji.pathinfo.rpm(rpminfo)
        if nvra in seen:
            raise koji.GenericError('rpm already imported: %s' % os.path.basename(fn))
        seen.add(nvra)
        builds.check_import_file(fn, builds.rpm_file_target(hub, binfo, rpminfo))
        files.append((relpath, fn))
    log_files, seen = [], set()
    for key, paths in (logs or {}).items():
        _check_type(paths, list)
        for relpath in paths:
            fn = work_path(hub, relpath)
            final = _log_target(hub, binfo, fn, key or None)
            if final in seen:
                raise koji.GenericError('Error importing build log. %s already exists.' % final)
            seen.add(final)
            _check_log(fn, final)
            log_files.append((fn, final))

    hub.db.update('build', 'id = ?', (binfo['id'],), state=BS['COMPLETE'],
                  completion_ts=time.time(), volume_id=0)
    binfo = builds.get_build(hub, binfo['id'], strict=True)
    for relpath, fn in files:
        rpminfo = builds.import_rpm(hub, fn, binfo, brmap.get(relpath))
        builds.import_rpm_file(hub, fn, binfo, rpminfo)
    for fn, final in log_files:
        koji.util.move_and_symlink(fn, final, create_dir=True)
    return binfo


def complete_build(hub, task_id, build_id, srpm, rpms, brmap=None, logs=None):
    binfo = import_build(hub, srpm, rpms, brmap=brmap, task_id=task_id, build_id=build_id,
                         logs=logs)
    notifications.build_notification(hub, task_id, build_id)
    return binfo


# -- failBuild -----------------------------------------------------------------------

def fail_build(hub, task_id, build_id):
    binfo = builds.get_build(hub, build_id, strict=True)
    row = hub.db.one('SELECT state, completion_ts FROM build WHERE id = ?', (binfo['id'],))
    if row['state'] != BS['BUILDING']:
        raise koji.GenericError('cannot update build %i, state: %s'
                                % (binfo['id'], BS[row['state']]))
    if row['completion_ts'] is not None:
        raise koji.GenericError('cannot update build %i, completed at %s'
                                % (binfo['id'], format_ts(row['completion_ts'])))
    hub.db.update('build', 'id = ?', (binfo['id'],), state=BS['FAILED'],
                  completion_ts=time.time())
    notifications.build_notification(hub, task_id, binfo['id'])


# -- scratch builds --------------------------------------------------------------------

def scratch_dir(hub, task):
    owner = users.get_user(hub, task.get_owner(), strict=True)['name']
    return os.path.join(hub.topdir, 'scratch', owner, 'task_%s' % task.id)


def move_to_scratch(hub, task, srpm, rpms, logs=None):
    """moveBuildToScratch: files to scratch/<owner>/task_<id>/ (logs to logs/<arch>/)."""
    _check_type(srpm, str)
    _check_type(rpms, list)
    for relpath in [srpm] + rpms:
        _existing(hub, relpath)
    rpms = check_noarch_rpms(hub, rpms, logs=logs)
    dest = scratch_dir(hub, task)
    moves = []
    for relpath in [srpm] + rpms:
        fn = work_path(hub, relpath)
        moves.append((fn, os.path.join(dest, os.path.basename(fn))))
    for key, paths in (logs or {}).items():
        logdir = os.path.join(dest, 'logs', key) if key else os.path.join(dest, 'logs')
        for relpath in paths:
            fn = _existing(hub, relpath)
            moves.append((fn, os.path.join(logdir, os.path.basename(fn))))
    for fn, final in moves:
        if os.path.exists(final):
            raise koji.GenericError('Destination exists: %s' % final)
    for fn, final in moves:
        koji.util.move_and_symlink(fn, final, create_dir=True)
