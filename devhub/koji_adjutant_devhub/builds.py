"""Builds and rpms (kojihub's get_build, list_builds, get_rpm, list_rpms, import_rpm).

Builds live on the one volume ``DEFAULT`` (id 0); their files under
``<topdir>/packages/<name>/<version>/<release>/<arch>/<file>.rpm``, as
``koji.pathinfo.build()`` and ``koji.pathinfo.rpm()`` say.  Draft builds and
content generators are not supported.
"""

import calendar
import datetime
import fnmatch
import hashlib
import json
import os
import shutil
import time

import koji
import koji.util

from . import context
from . import names
from . import users
from .hub import format_ts
from .query import apply_query_opts

BS = koji.BUILD_STATES
VOLUMES = [{'id': 0, 'name': 'DEFAULT'}]

# The build view (a build row with its package and owner names and creation time); tagging
# joins it to tag listings.
BUILD_SQL = (
    'SELECT build.*, package.name AS package_name, users.name AS owner_name, '
    'events.ts AS creation_ts FROM build '
    'JOIN package ON package.id = build.pkg_id '
    'LEFT JOIN users ON users.id = build.owner '
    'LEFT JOIN events ON events.id = build.create_event')


def get_volume(volume, strict=False):
    for vol in VOLUMES:
        if volume in (vol['id'], vol['name']) or \
                (isinstance(volume, dict) and volume.get('name') == vol['name']):
            return dict(vol)
    if strict:
        raise koji.GenericError('No such volume: %s' % volume)
    return None


def _json(text):
    if text is None:
        return None
    return json.loads(text)


def build_out(row):
    """kojihub's build map (get_build / listBuilds fields)."""
    nvr = '%s-%s-%s' % (row['package_name'], row['version'], row['release'])
    return {
        'id': row['id'],
        'build_id': row['id'],
        'version': row['version'],
        'release': row['release'],
        'epoch': row['epoch'],
        'draft': bool(row['draft']),
        'state': row['state'],
        'completion_time': format_ts(row['completion_ts']),
        'completion_ts': row['completion_ts'],
        'start_time': format_ts(row['start_ts']),
        'start_ts': row['start_ts'],
        'task_id': row['task_id'],
        'creation_event_id': row['create_event'],
        'creation_time': format_ts(row['creation_ts']),
        'creation_ts': row['creation_ts'],
        'package_id': row['pkg_id'],
        'package_name': row['package_name'],
        'name': row['package_name'],
        'volume_id': row['volume_id'],
        'volume_name': 'DEFAULT',
        'nvr': nvr,
        'owner_id': row['owner'],
        'owner_name': row['owner_name'],
        'cg_id': row['cg_id'],
        'cg_name': None,
        'source': row['source'],
        'extra': _json(row['extra']),
    }


def find_build_id(hub, X, strict=False):
    """Build id from an id, an N-V-R string or a dict with name, version, release."""
    if isinstance(X, int) and not isinstance(X, bool):
        return X
    if isinstance(X, str):
        data = koji.parse_NVR(X)  # GenericError "invalid format" for a non-NVR, as kojihub
    elif isinstance(X, dict):
        data = X
    else:
        raise koji.GenericError('Invalid type for argument: %r' % type(X))
    if not ('name' in data and 'version' in data and 'release' in data):
        raise koji.GenericError('did not provide name, version, and release')
    build_id = hub.db.value('SELECT build.id FROM build JOIN package ON package.id = build.pkg_id '
                            'WHERE package.name = ? AND build.version = ? AND build.release = ?',
                            (data['name'], data['version'], data['release']))
    if not build_id:
        if strict:
            raise koji.GenericError('No such build: %r' % X)
        return None
    return build_id


def get_build(hub, buildInfo, strict=False):
    build_id = find_build_id(hub, buildInfo, strict=strict)
    if build_id is None:
        return None
    row = hub.db.one(BUILD_SQL + ' WHERE build.id = ?', (build_id,))
    if row is None:
        if strict:
            raise koji.GenericError('No such build: %s' % (buildInfo,))
        return None
    return build_out(row)


def new_build(hub, data, strict=False):
    """Insert a build (COMPLETE unless data says otherwise); returns its id.

    As kojihub's new_build: the package is created when missing; an existing build of
    the same N-V-R is recycled when it may be (recycle_build), else GenericError.
    ``data`` is completed the way kojihub completes it (its repr is part of the
    "Build already exists" message).
    """
    data = dict(data)
    if 'pkg_id' in data:
        data['name'] = names.lookup_package(hub, data['pkg_id'], strict=True)['name']
    else:
        if not data.get('name'):
            raise koji.GenericError('No name or package id provided for build')
        data['pkg_id'] = names.new_package(hub, data['name'], strict=False)
    if data.get('owner'):
        data['owner'] = users.get_user(hub, data['owner'], strict=True)['id']
    for field in ('version', 'release', 'epoch'):
        if field not in data:
            raise koji.GenericError('No %s value for build' % field)
    if 'extra' in data:
        try:
            data['extra'] = json.dumps(data['extra'])
        except Exception:
            raise koji.GenericError('No such build extra data: %(extra)r' % data)
    else:
        data['extra'] = None
    if 'draft' in data:
        data['draft'] = bool(data['draft'])
    koji.check_NVR(data, strict=True)
    if data.get('draft'):
        raise koji.GenericError('draft builds are not supported by the dev hub')
    # kojihub's defaults ('NOW' is its SQL for the current time)
    data.setdefault('state', BS['COMPLETE'])
    data.setdefault('start_time', 'NOW')
    data.setdefault('completion_time', 'NOW')
    data.setdefault('source', None)
    data.setdefault('owner', context.session().user_id)
    data.setdefault('task_id', None)
    data.setdefault('volume_id', 0)
    data.setdefault('draft', False)
    if data['owner'] is None:
        raise koji.GenericError('build must have an owner')
    old = get_build(hub, data)
    if old:
        if strict:
            raise koji.GenericError('Existing build found: %(nvr)s (id=%(id)s)' % old)
        recycle_build(hub, old, data)
        return old['id']
    return hub.db.insert('build', create_event=context.state_changed(), **_build_values(data))


def _build_values(data):
    """build table columns from new_build's data."""
    now = time.time()
    values = {}
    for field in ('pkg_id', 'version', 'release', 'epoch', 'state', 'task_id', 'owner',
                  'source', 'extra', 'volume_id'):
        if field in data:
            values[field] = data[field]
    for field, column in (('start_time', 'start_ts'), ('completion_time', 'completion_ts')):
        value = data.get(field)
        if value == 'NOW':
            value = now
        elif value is not None and not isinstance(value, (int, float)):
            value = koji.util.parseTime(str(value))
        values[column] = value
    if 'draft' in data:
        values['draft'] = 1 if data['draft'] else 0
    return values


def recycle_build(hub, old, data):
    """Reuse an existing build entry for data (kojihub's recycle_build) or refuse.

    A BUILDING build is kept as it is when its own task asks again (a restarted
    build task calling initBuild once more); FAILED and CANCELED builds without tag
    history, rpms or archives are reset to data; anything else already exists.
    """
    check = hub.db.one('SELECT state, task_id FROM build WHERE id = ?', (old['id'],))
    st_desc = BS[check['state']]
    if st_desc == 'BUILDING':
        if data['state'] == check['state'] and data.get('task_id', '') == check['task_id']:
            return
        raise koji.GenericError('Build already in progress (task %s)' % check['task_id'])
    if st_desc not in ('FAILED', 'CANCELED'):
        raise koji.GenericError('Build already exists (id=%d, state=%s): %r'
                                % (old['id'], st_desc, data))
    if hub.db.value('SELECT COUNT(*) FROM tag_listing WHERE build_id = ?', (old['id'],)):
        raise koji.GenericError('Build already exists. Unable to recycle, has tag history')
    if hub.db.value('SELECT COUNT(*) FROM rpminfo WHERE build_id = ?', (old['id'],)):
        raise koji.GenericError('Build already exists. Unable to recycle, has rpm data')
    values = _build_values(data)
    for column in ('pkg_id', 'version', 'release', 'draft'):
        values.pop(column, None)
    values['create_event'] = context.state_changed()
    hub.db.update('build', 'id = ?', (old['id'],), **values)
    # stray files of the old build go
    path = build_dir(hub, old)
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.exists(path):
        shutil.rmtree(path)


def list_builds(hub, packageID=None, userID=None, taskID=None, prefix=None, state=None,
                volumeID=None, source=None, createdBefore=None, createdAfter=None,
                completeBefore=None, completeAfter=None, type=None, typeInfo=None,
                queryOpts=None, pattern=None, cgID=None, draft=None):
    clauses, params = [], []
    if packageID is not None:
        packageID = names.get_package_id(hub, packageID)
        if not packageID:
            return []
        clauses.append('build.pkg_id = ?')
        params.append(packageID)
    if userID is not None:
        user = users.get_user(hub, userID)
        if not user:
            return []
        clauses.append('build.owner = ?')
        params.append(user['id'])
    if volumeID is not None:
        clauses.append('build.volume_id = ?')
        params.append(volumeID)
    if taskID is not None:
        if taskID == -1:
            clauses.append('build.task_id IS NOT NULL')
        else:
            clauses.append('build.task_id = ?')
            params.append(taskID)
    if state is not None:
        clauses.append('build.state = ?')
        params.append(state)
    if cgID:
        return []
    if type not in (None, 'rpm'):
        if type in ('maven', 'win', 'image'):
            return []
        raise koji.GenericError('unsupported build type: %s' % type)
    if draft:
        return []
    times = (('events.ts', '<', createdBefore), ('events.ts', '>', createdAfter),
             ('build.completion_ts', '<', completeBefore),
             ('build.completion_ts', '>', completeAfter))
    for column, op, value in times:
        if value:
            if isinstance(value, str):
                value = koji.util.parseTime(value)
            clauses.append('%s %s ?' % (column, op))
            params.append(float(value))
    sql = BUILD_SQL
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    rows = [build_out(r) for r in hub.db.query(sql + ' ORDER BY build.id', params)]
    if type == 'rpm':
        with_rpms = set(hub.db.column('SELECT DISTINCT build_id FROM rpminfo'))
        rows = [b for b in rows if b['id'] in with_rpms]
    if prefix:
        rows = [b for b in rows if b['package_name'].lower().startswith(prefix.lower())]
    if pattern:
        rows = [b for b in rows if fnmatch.fnmatch(b['nvr'].lower(), pattern.lower())]
    if source is not None:
        rows = [b for b in rows
                if b['source'] and fnmatch.fnmatch(b['source'].lower(), source.lower())]
    return apply_query_opts(rows, queryOpts)


def create_empty_build(hub, name, version, release, epoch, owner=None, draft=False):
    data = {'name': name, 'version': version, 'release': release, 'epoch': epoch,
            'draft': draft}
    if owner is not None:
        data['owner'] = owner
    return new_build(hub, data)


# -- rpms -----------------------------------------------------------------------------

_RPM_SQL = ('SELECT rpminfo.*, NULL AS external_repo_name FROM rpminfo')


def rpm_out(row, nvr=False):
    info = {
        'id': row['id'],
        'build_id': row['build_id'],
        'buildroot_id': row['buildroot_id'],
        'name': row['name'],
        'version': row['version'],
        'release': row['release'],
        'epoch': row['epoch'],
        'arch': row['arch'],
        'draft': bool(row['draft']),
        'external_repo_id': row['external_repo_id'],
        'external_repo_name': 'INTERNAL' if row['external_repo_id'] == 0 else None,
        'payloadhash': row['payloadhash'],
        'size': row['size'],
        'buildtime': row['buildtime'],
        'metadata_only': bool(row['metadata_only']),
        'extra': _json(row['extra']),
    }
    if nvr:
        info['nvr'] = '%(name)s-%(version)s-%(release)s' % row
    return info


def get_rpm(hub, rpminfo, strict=False, multi=False, build=None):
    """getRPM: an rpm by id, N-V-R.A string or dict (name, version, release, arch)."""
    if isinstance(rpminfo, int) and not isinstance(rpminfo, bool):
        data = {'id': rpminfo}
    elif isinstance(rpminfo, str):
        data = koji.parse_NVRA(rpminfo)
    elif isinstance(rpminfo, dict):
        data = dict(rpminfo)
    else:
        raise koji.GenericError('Invalid type for rpminfo: %r' % type(rpminfo))
    clauses, params = [], []
    if 'id' in data:
        clauses.append('rpminfo.id = ?')
        params.append(data['id'])
    else:
        for key in ('name', 'version', 'release', 'arch'):
            if key not in data:
                raise koji.GenericError('Invalid rpminfo: missing %s' % key)
        clauses.append('rpminfo.name = ? AND version = ? AND release = ? AND arch = ?')
        params += [data['name'], data['version'], data['release'], data['arch']]
    if build:
        clauses.append('rpminfo.build_id = ?')
        params.append(find_build_id(hub, build, strict=True))
    if data.get('location'):
        if data['location'] != 'INTERNAL':
            # the dev hub has no external repos
            raise koji.GenericError('No such entry in table external_repo: %s'
                                    % data['location'])
        clauses.append('external_repo_id = 0')
    sql = _RPM_SQL + ' WHERE ' + ' AND '.join(clauses) + ' ORDER BY external_repo_id, id'
    rows = [rpm_out(r) for r in hub.db.query(sql, params)]
    if multi:
        return rows
    if rows:
        return rows[0]
    if strict:
        raise koji.GenericError('No such rpm: %r' % data)
    return None


def list_rpms(hub, buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None,
              hostID=None, arches=None, queryOpts=None, draft=None):
    sql = _RPM_SQL
    extra_cols = ''
    joins, clauses, params = [], [], []
    if buildID is not None:
        clauses.append('rpminfo.build_id = ?')
        params.append(buildID)
    if buildrootID is not None:
        clauses.append('rpminfo.buildroot_id = ?')
        params.append(buildrootID)
    if componentBuildrootID is not None:
        extra_cols = (', buildroot_listing.buildroot_id AS component_buildroot_id, '
                      'buildroot_listing.is_update AS is_update')
        joins.append('JOIN buildroot_listing ON buildroot_listing.rpm_id = rpminfo.id')
        clauses.append('buildroot_listing.buildroot_id = ?')
        params.append(componentBuildrootID)
    if imageID is not None:
        return apply_query_opts([], queryOpts)
    if hostID is not None:
        joins.append('JOIN buildroots ON buildroots.id = rpminfo.buildroot_id')
        clauses.append('buildroots.host_id = ?')
        params.append(hostID)
    if arches is not None:
        if isinstance(arches, (list, tuple)):
            clauses.append('rpminfo.arch IN (%s)' % (', '.join(['?'] * len(arches)) or 'NULL'))
            params.extend(arches)
        elif isinstance(arches, str):
            clauses.append('rpminfo.arch = ?')
            params.append(arches)
        else:
            raise koji.GenericError('Invalid type for "arches" parameter: %s' % type(arches))
    if draft:
        return apply_query_opts([], queryOpts)
    sql = sql.replace(' FROM rpminfo', extra_cols + ' FROM rpminfo')
    if joins:
        sql += ' ' + ' '.join(joins)
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    result = []
    for row in hub.db.query(sql + ' ORDER BY rpminfo.id', params):
        info = rpm_out(row, nvr=True)
        if componentBuildrootID is not None:
            info['component_buildroot_id'] = row['component_buildroot_id']
            info['is_update'] = bool(row['is_update'])
        result.append(info)
    return apply_query_opts(result, queryOpts)


# -- importing --------------------------------------------------------------------------

def build_dir(hub, buildinfo):
    return koji.PathInfo(topdir=hub.topdir).build(buildinfo)


def read_rpm(hub, fn, buildinfo=None):
    """Read an rpm's header and check it as kojihub's import_rpm does.

    Returns (hdr, rpminfo, buildinfo): the file must be named N-V-R.A.rpm from its
    own header; with a build given, its SRPM (or the file itself, for the SRPM) must
    be that build's; without one, an SRPM makes (or finds) its build and an rpm
    names its build by its sourcerpm.  The build must not be FAILED, CANCELED or
    DELETED, and the rpm must not be in the hub already.
    """
    if not os.path.exists(fn):
        raise koji.GenericError('No such file: %s' % fn)
    try:
        hdr = koji.get_rpm_header(fn)
    except Exception as e:
        raise koji.GenericError('Unable to read rpm header of %s: %s'
                                % (os.path.basename(fn), e))
    rpminfo = koji.get_header_fields(hdr, ['name', 'version', 'release', 'epoch',
                                           'sourcepackage', 'arch', 'buildtime', 'sourcerpm'])
    rpminfo['draft'] = False
    if rpminfo['sourcepackage'] == 1:
        rpminfo['arch'] = 'src'
    basename = os.path.basename(fn)
    expected = '%(name)s-%(version)s-%(release)s.%(arch)s.rpm' % rpminfo
    if basename != expected:
        raise koji.GenericError('bad filename: %s (expected %s)' % (basename, expected))
    if buildinfo is None:
        if rpminfo['sourcepackage'] == 1:
            buildinfo = get_build(hub, rpminfo, strict=False)
            if not buildinfo:
                build_id = new_build(hub, dict((k, rpminfo[k]) for k in
                                               ('name', 'version', 'release', 'epoch')))
                buildinfo = get_build(hub, build_id, strict=True)
        else:
            buildinfo = get_build(hub, koji.parse_NVRA(rpminfo['sourcerpm']))
            if buildinfo is None:
                raise koji.GenericError('No such build')
    else:
        srpmname = '%(name)s-%(version)s-%(release)s.src.rpm' % buildinfo
        if rpminfo['sourcepackage'] != 1:
            if rpminfo['sourcerpm'] != srpmname:
                raise koji.GenericError('srpm mismatch for %s: %s (expected %s)'
                                        % (fn, rpminfo['sourcerpm'], srpmname))
        elif basename != srpmname:
            raise koji.GenericError('srpm mismatch for %s: %s (expected %s)'
                                    % (fn, basename, srpmname))
    state = BS[buildinfo['state']]
    if state in ('FAILED', 'CANCELED', 'DELETED'):
        raise koji.GenericError('Build is %s: %s' % (state, buildinfo['nvr']))
    existing = hub.db.value('SELECT id FROM rpminfo WHERE name = ? AND version = ? AND '
                            'release = ? AND arch = ? AND external_repo_id = 0',
                            (rpminfo['name'], rpminfo['version'], rpminfo['release'],
                             rpminfo['arch']))
    if existing:
        # kojihub fails on the database's unique constraint here
        raise koji.GenericError('rpm already imported: %s (id %s)' % (basename, existing))
    return hdr, rpminfo, buildinfo


def import_rpm(hub, fn, buildinfo=None, brootid=None):
    """Read an rpm's header and add its rpminfo (creating the build from an SRPM)."""
    hdr, rpminfo, buildinfo = read_rpm(hub, fn, buildinfo)
    values = {
        'build_id': buildinfo['id'], 'buildroot_id': brootid, 'name': rpminfo['name'],
        'version': rpminfo['version'], 'release': rpminfo['release'],
        'epoch': rpminfo['epoch'], 'arch': rpminfo['arch'], 'draft': 0,
        'external_repo_id': 0, 'payloadhash': koji.get_rpm_ident(hdr),
        'size': os.path.getsize(fn), 'buildtime': rpminfo['buildtime'],
    }
    rpminfo['id'] = hub.db.insert('rpminfo', **values)
    context.state_changed()
    record_import_sig(hub, dict(rpminfo, **values), buildinfo, fn)
    rpminfo.update(dict((k, values[k]) for k in ('build_id', 'size', 'payloadhash',
                                                 'buildroot_id', 'external_repo_id')))
    rpminfo['build'] = buildinfo
    rpminfo['brootid'] = brootid
    return rpminfo


# -- signatures (the signatures module has the calls) ---------------------------------

def sighdr_path(hub, binfo, rinfo, sigkey):
    return os.path.join(build_dir(hub, binfo), koji.pathinfo.sighdr(rinfo, sigkey))


def header_sigkey(rawhdr):
    """The key id of a signature header ('' when it holds no signature)."""
    for sigtag in (koji.RPM_SIGTAG_GPG, koji.RPM_SIGTAG_PGP, koji.RPM_SIGTAG_DSA,
                   koji.RPM_SIGTAG_RSA):
        rawsig = rawhdr.get(sigtag)
        if rawsig:
            return koji.get_sigpacket_key_id(rawsig)
    return ''


def store_sighdr(hub, rinfo, binfo, sigkey, sighdr):
    """Record a signature header (row and sigcache file); refuses a second one per key."""
    nvra = '%(name)s-%(version)s-%(release)s.%(arch)s' % rinfo
    if hub.db.value('SELECT 1 FROM rpmsigs WHERE rpm_id = ? AND sigkey = ?',
                    (rinfo['id'], sigkey)):
        raise koji.GenericError('Signature already exists for package %s, key %s'
                                % (nvra, sigkey))
    hub.db.insert('rpmsigs', rpm_id=rinfo['id'], sigkey=sigkey,
                  sighash=hashlib.md5(sighdr).hexdigest())
    path = sighdr_path(hub, binfo, rinfo, sigkey)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as fo:
        fo.write(sighdr)


def record_import_sig(hub, rinfo, binfo, fn):
    """The signature an imported rpm file carries (importRPM, completeBuild)."""
    sighdr = koji.rip_rpm_sighdr(fn)
    try:
        sigkey = header_sigkey(koji.RawHeader(sighdr))
    except Exception:
        sigkey = ''
    store_sighdr(hub, rinfo, binfo, sigkey, sighdr)


def query_rpm_sigs(hub, rpm_id=None, sigkey=None, queryOpts=None):
    clauses, params = [], []
    if rpm_id is not None:
        if not isinstance(rpm_id, int) or isinstance(rpm_id, bool):
            # as kojihub: an rpm that does not exist has no signatures
            rinfo = get_rpm(hub, rpm_id)
            if not rinfo:
                return []
            rpm_id = rinfo['id']
        clauses.append('rpm_id = ?')
        params.append(rpm_id)
    if sigkey is not None:
        clauses.append('sigkey = ?')
        params.append(sigkey.lower())
    sql = 'SELECT rpm_id, sigkey, sighash FROM rpmsigs'
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    return apply_query_opts(hub.db.query(sql + ' ORDER BY rpm_id, sigkey', params), queryOpts)


def rpm_file_target(hub, buildinfo, rpminfo):
    """Where an rpm of a build lives: packages/N/V/R/<arch>/<file>."""
    return os.path.join(build_dir(hub, buildinfo), koji.pathinfo.rpm(rpminfo))


def check_import_file(fn, final):
    """kojihub's checks before moving an imported file into place."""
    if os.path.exists(final):
        raise koji.GenericError('Error importing archive file, %s already exists' % final)
    if os.path.islink(fn) or not os.path.isfile(fn):
        raise koji.GenericError('Error importing archive file, %s is not a regular file' % fn)


def import_rpm_file(hub, fn, buildinfo, rpminfo):
    """Move an imported rpm to its build directory, leaving a (relative) symlink behind."""
    final = rpm_file_target(hub, buildinfo, rpminfo)
    check_import_file(fn, final)
    koji.util.move_and_symlink(fn, final, create_dir=True)
    return final


# -- reading rpm files ---------------------------------------------------------------------

def rpm_path(hub, rpminfo):
    binfo = get_build(hub, rpminfo['build_id'], strict=True)
    return os.path.join(build_dir(hub, binfo), koji.pathinfo.rpm(rpminfo))


def _task_file(hub, taskID, filepath):
    if not filepath:
        raise koji.GenericError('filepath must be specified with taskID')
    if filepath.startswith('/') or '../' in filepath:
        raise koji.GenericError('Invalid filepath: %s' % filepath)
    return os.path.join(hub.workdir, koji.pathinfo.taskrelpath(taskID), filepath)


def _timestamp(value, what):
    if isinstance(value, datetime.datetime):
        return calendar.timegm(value.utctimetuple())
    if isinstance(value, str):
        return koji.util.parseTime(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise koji.GenericError('Invalid type for %s: %s' % (what, type(value)))


def changelog_entries(hub, buildID=None, taskID=None, filepath=None, author=None, before=None,
                      after=None, queryOpts=None, strict=False):
    queryOpts = dict(queryOpts or {})
    if queryOpts.get('order') in ('date', '-date'):
        queryOpts['order'] = queryOpts['order'].replace('date', 'date_ts')
    if buildID:
        binfo = get_build(hub, buildID)
        if not binfo:
            if strict:
                raise koji.GenericError('No such build: %s' % buildID)
            return apply_query_opts([], queryOpts)
        srpms = list_rpms(hub, buildID=binfo['id'], arches='src')
        if not srpms:
            if strict:
                raise koji.GenericError("Build %s doesn't have srpms" % buildID)
            return apply_query_opts([], queryOpts)
        path = os.path.join(build_dir(hub, binfo), koji.pathinfo.rpm(srpms[0]))
    elif taskID:
        path = _task_file(hub, taskID, filepath)
    else:
        raise koji.GenericError('either buildID or taskID and filepath must be specified')
    if not os.path.exists(path):
        if strict:
            raise koji.GenericError("SRPM %s doesn't exist" % path)
        return apply_query_opts([], queryOpts)
    if before:
        before = _timestamp(before, 'before')
    if after:
        after = _timestamp(after, 'after')
    fields = koji.get_header_fields(path, ['changelogtime', 'changelogname', 'changelogtext'])
    results = []
    for cltime, clname, cltext in zip(fields['changelogtime'], fields['changelogname'],
                                      fields['changelogtext']):
        if author and author != clname:
            continue
        if before and not cltime < before:
            continue
        if after and not cltime > after:
            continue
        cldate = datetime.datetime.fromtimestamp(cltime).isoformat(' ')
        if queryOpts.get('asList'):
            results.append([cldate, clname, cltext])
        else:
            results.append({'date': cldate, 'date_ts': cltime, 'author': clname,
                            'text': cltext})
    return koji.fixEncodingRecurse(apply_query_opts(results, queryOpts),
                                   remove_nonprintable=True)


def rpm_headers(hub, rpmID=None, taskID=None, filepath=None, headers=None, strict=False):
    if rpmID:
        rinfo = get_rpm(hub, rpmID, strict=strict)
        if not rinfo:
            return {}
        if rinfo['external_repo_id'] != 0:
            if strict:
                raise koji.GenericError('External rpm: %(id)s' % rinfo)
            return {}
        path = rpm_path(hub, rinfo)
    elif taskID:
        path = _task_file(hub, taskID, filepath)
    else:
        raise koji.GenericError('either rpmID or taskID and filepath must be specified')
    if not os.path.exists(path):
        if strict:
            raise koji.GenericError('Missing rpm file: %s' % path)
        return {}
    return koji.fixEncodingRecurse(koji.get_header_fields(path, headers),
                                   remove_nonprintable=True)
