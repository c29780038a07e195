"""Tagged builds: tagging, untagging, listings, and when a tag last changed.

As kojihub: ``tag_listing`` is versioned; a tag's latest build of a package
is the one tagged most recently (following inheritance: the tag's own
builds first, then each parent's in inheritance order); builds of packages
that are not in the tag's package list, or are blocked there, are not part
of the tag.  ``tagLastChangeEvent`` considers every change of the tag's
content or configuration (here: tag_listing, package lists, groups, and the
config/inheritance changes the dev hub records in ``tag_updates``).
"""

import koji
import koji.util

from . import builds
from . import context
from . import names
from . import packages
from . import policy
from . import tags
from . import tasks
from . import users
from . import versioned
from .query import apply_query_opts

BS = koji.BUILD_STATES
# versioned tables that describe a tag's content (kojihub's list, minus the
# tables the dev hub does not have: tag_config, tag_extra, tag_external_repos)
TAG_TABLES = ('tag_listing', 'tag_packages', 'group_config', 'group_package_listing',
              'group_req_listing')

# the build fields readTaggedBuilds reports (besides tag_id, tag_name, create_event)
TAGGED_BUILD_FIELDS = ('id', 'build_id', 'version', 'release', 'epoch', 'state',
                       'completion_time', 'start_time', 'task_id', 'draft', 'owner_id',
                       'owner_name', 'creation_event_id', 'creation_time', 'volume_id',
                       'volume_name', 'package_id', 'package_name', 'name', 'nvr')


# -- access and tagging ---------------------------------------------------------------

def check_tag_access(hub, tag_id, user_id=None):
    """(access, override, reason) for tagging builds into tag_id (kojihub's check)."""
    if user_id is None:
        user_id = context.session().user_id
    if user_id is None:
        raise koji.GenericError('a user_id is required')
    perms = users.get_user_perms(hub, int(user_id))
    override = 'admin' in perms
    tag = tags.get_tag(hub, tag_id, strict=True)
    if tag['locked']:
        return (False, override, 'tag is locked')
    if tag['perm_id']:
        if tag['perm'] not in perms:
            return (False, override, 'tag requires %s permission' % tag['perm'])
    return (True, override, '')


def assert_tag_access(hub, tag_id, user_id=None, force=False):
    access, override, reason = check_tag_access(hub, tag_id, user_id)
    if not access and not (override and force):
        raise koji.ActionNotAllowed(reason)


def direct_tag_build(hub, tag, build, force=False, user_id=None):
    """kojihub's _direct_tag_build; the listing is created by user_id (default: caller)."""
    nvr = build['nvr']
    if build['state'] != BS['COMPLETE']:
        raise koji.TagError('build %s not complete: state %s' % (nvr, BS[build['state']]))
    tagged = hub.db.value('SELECT build_id FROM tag_listing WHERE tag_id = ? AND build_id = ? '
                          'AND active = 1', (tag['id'], build['id']))
    if tagged:
        if not force:
            raise koji.TagError('build %s already tagged (%s)' % (nvr, tag['name']))
        versioned.revoke(hub, 'tag_listing', 'tag_id = ? AND build_id = ?',
                         (tag['id'], build['id']), _user=user_id)
    versioned.create(hub, 'tag_listing', _user=user_id, tag_id=tag['id'], build_id=build['id'])


def tag_build(hub, tag, build, user_id=None, force=False):
    """kojihub's _tag_build: access check (for user_id, default the caller), then tag."""
    tag = tags.get_tag(hub, tag, strict=True)
    build = builds.get_build(hub, build, strict=True)
    if user_id is not None:
        user_id = users.get_user(hub, user_id, strict=True)['id']
    assert_tag_access(hub, tag['id'], user_id=user_id, force=force)
    direct_tag_build(hub, tag, build, force, user_id=user_id)


def untag_build(hub, tag, build, user_id=None, strict=True, force=False):
    tag = tags.get_tag(hub, tag, strict=True)
    build = builds.get_build(hub, build, strict=True)
    if user_id is not None:
        user_id = users.get_user(hub, user_id, strict=True)['id']
    assert_tag_access(hub, tag['id'], user_id=user_id, force=force)
    count = versioned.revoke(hub, 'tag_listing', 'tag_id = ? AND build_id = ?',
                             (tag['id'], build['id']), _user=user_id)
    if count == 0 and strict:
        raise koji.TagError('build %s not in tag %s' % (build['nvr'], tag['name']))


def _package_list_error(hub, tag_id, build, tag_label):
    """kojihub's package list check of tagging: the error text, or None."""
    pkg_id = build['package_id']
    pkgs = packages.read_package_list(hub, tagID=tag_id, pkgID=pkg_id, inherit=True,
                                      with_owners=False)
    if pkg_id not in pkgs:
        return 'Package %s not in list for %s' % (build['name'], tag_label)
    if pkgs[pkg_id]['blocked']:
        return 'Package %s blocked in %s' % (build['name'], tag_label)
    return None


def host_tag_build(hub, task_id, tag, build, force=False, fromtag=None):
    """host.tagBuild: tag (or move) a build for a task, as the task's owner.

    As kojihub: the ``tag`` policy (not defined on a stock hub: allowed), then the
    package list (not listed or blocked: TagError, unless force and the caller, the
    host, is an admin: then the package is added), then untag from fromtag and tag.
    The error names the tag as it was given (kojid passes the tag id).
    """
    build = builds.get_build(hub, build, strict=True)
    tag_id = tags.get_tag(hub, tag, strict=True)['id']
    user_id = tasks.Task(hub, task_id).get_owner()
    if fromtag and not isinstance(fromtag, str):
        fromtag = tags.get_tag(hub, fromtag, strict=True)['name']
    policy_data = {'tag': tag, 'build': build['id'], 'fromtag': fromtag, 'user_id': user_id,
                   'operation': 'tag' if fromtag is None else 'move'}
    policy.assert_policy('tag', policy_data, force=force)
    error = _package_list_error(hub, tag_id, build, tag)
    if error:
        if force and context.session().hasPerm('admin'):
            packages.pkglist_add(hub, tag_id, build['package_id'], force=True, block=False)
        else:
            raise koji.TagError(error)
    if fromtag:
        untag_build(hub, fromtag, build['id'], user_id=user_id, force=force, strict=True)
    tag_build(hub, tag_id, build['id'], user_id=user_id, force=force)


def make_tag_build_task(hub, tag, build, force=False, fromtag=None):
    """tagBuild: checks, then a ``tagBuild`` task [tag_id, build_id, force, fromtag_id]."""
    sess = context.session()
    sess.assertLogin()
    build = builds.get_build(hub, build, strict=True)
    tag = tags.get_tag(hub, tag, strict=True)
    fromtag_id = tags.get_tag_id(hub, fromtag, strict=True) if fromtag else None
    if build['state'] != BS['COMPLETE']:
        raise koji.TagError('build %s not complete: state %s'
                            % (build['nvr'], BS[build['state']]))
    assert_tag_access(hub, tag['id'], force=force)
    if fromtag:
        assert_tag_access(hub, fromtag_id, force=force)
    pkg_id = build['package_id']
    error = _package_list_error(hub, tag['id'], build, tag['name'])
    if error:
        if force and sess.hasPerm('admin'):
            packages.pkglist_add(hub, tag['id'], pkg_id, force=True, block=False)
        else:
            raise koji.TagError(error)
    return tasks.make_task(hub, 'tagBuild', [tag['id'], build['id'], force, fromtag_id],
                           priority=10)


def move_all_builds(hub, tag1, tag2, package, force=False):
    """moveAllBuilds: a chain of ``dependantTask`` tasks, each tagging one build of the
    package from tag1 into tag2 (``tagBuild`` subtask, priority 15) once the previous
    one is done, oldest tagging first; returns their ids."""
    sess = context.session()
    sess.assertLogin()
    pkg_id = names.get_package_id(hub, package, strict=True)
    tag1_id = tags.get_tag_id(hub, tag1, strict=True)
    tag2_id = tags.get_tag_id(hub, tag2, strict=True)
    pkgs = packages.read_package_list(hub, tagID=tag2_id, pkgID=pkg_id, inherit=True,
                                      with_owners=False)
    error = None
    if pkg_id not in pkgs:
        error = 'Package %s not in list for tag %s' % (package, tag2)
    elif pkgs[pkg_id]['blocked']:
        error = 'Package %s blocked in tag %s' % (package, tag2)
    if error:
        if force and sess.hasPerm('admin'):
            packages.pkglist_add(hub, tag2_id, pkg_id, force=True, block=False)
        else:
            raise koji.TagError(error)
    assert_tag_access(hub, tag1_id, force=force)
    assert_tag_access(hub, tag2_id, force=force)
    build_list = read_tagged_builds(hub, tag1_id, package=package)
    build_list.reverse()
    policy_data = {'tag': tag2, 'fromtag': tag1, 'operation': 'move'}
    for build in build_list:
        policy_data['build'] = build['id']
        policy.assert_policy('tag', policy_data)
    wait_on = []
    result = []
    for build in build_list:
        task_id = tasks.make_task(hub, 'dependantTask',
                                  [wait_on, [['tagBuild',
                                              [tag2_id, build['id'], force, tag1_id],
                                              {'priority': 15}]]])
        wait_on = [task_id]
        result.append(task_id)
    return result

# -- reading ----------------------------------------------------------------------------


def _taglist(hub, tag_id, inherit):
    taglist = [tag_id]
    if inherit:
        taglist += [link['parent_id'] for link in tags.read_full_inheritance(hub, tag_id)]
    return taglist


def read_tagged_builds(hub, tag, event=None, inherit=False, latest=False, package=None,
                       owner=None, type=None, extra=False, draft=None):
    """Builds tagged in tag (newest tagging first), kojihub's readTaggedBuilds."""
    if not isinstance(latest, (int, float)) or isinstance(latest, bool):
        latest = bool(latest)
    if type not in (None, 'rpm'):
        if type in ('maven', 'win', 'image'):
            return []
        raise koji.GenericError('unsupported build type: %s' % type)
    if draft:
        return []
    pkgs = packages.read_package_list(hub, tagID=tag, event=event, inherit=True, pkgID=package,
                                      with_owners=False)
    clause, params = versioned.event_clause(event, 'tag_listing')
    sql = ('SELECT tag_listing.tag_id AS tl_tag_id, tags.name AS tl_tag_name, '
           'tag_listing.create_event AS tl_create_event, b.* FROM tag_listing '
           'JOIN tags ON tags.id = tag_listing.tag_id '
           'JOIN (%s) AS b ON b.id = tag_listing.build_id '
           'WHERE %s AND tag_listing.tag_id = ? AND b.state = ?'
           % (builds.BUILD_SQL, clause))
    extra_clauses, extra_params = '', []
    if package:
        extra_clauses += ' AND b.package_name = ?'
        extra_params.append(package)
    if owner:
        extra_clauses += ' AND b.owner_name = ?'
        extra_params.append(owner)
    sql += extra_clauses + ' ORDER BY tag_listing.create_event DESC, tag_listing.rowid DESC'
    result = []
    seen = {}
    for tag_id in _taglist(hub, tag, inherit):
        for row in hub.db.query(sql, params + [tag_id, BS['COMPLETE']] + extra_params):
            pkg_id = row['pkg_id']
            pinfo = pkgs.get(pkg_id)
            if pinfo is None or pinfo['blocked']:
                continue
            if latest:
                if (latest is True and pkg_id in seen) or seen.get(pkg_id, 0) >= latest:
                    continue
                seen[pkg_id] = seen.get(pkg_id, 0) + 1
            full = builds.build_out(row)
            build = dict((key, full[key]) for key in TAGGED_BUILD_FIELDS)
            build['tag_id'] = row['tl_tag_id']
            build['tag_name'] = row['tl_tag_name']
            build['create_event'] = row['tl_create_event']
            if extra:
                build['extra'] = full['extra']
            result.append(build)
    return result


def read_tagged_rpms(hub, tag, package=None, arch=None, event=None, inherit=False, latest=True,
                     rpmsigs=False, owner=None, type=None, extra=True, draft=None):
    """[rpms, builds] of a tag, kojihub's readTaggedRPMS."""
    blist = read_tagged_builds(hub, tag, event=event, inherit=inherit, latest=latest,
                               package=package, owner=owner, type=type, draft=draft)
    build_idx = dict((b['build_id'], b) for b in blist)
    clause, params = versioned.event_clause(event, 'tag_listing')
    sql = ('SELECT rpminfo.* FROM rpminfo JOIN tag_listing '
           'ON rpminfo.build_id = tag_listing.build_id WHERE %s AND tag_listing.tag_id = ?'
           % clause)
    arch_params = []
    if arch:
        if isinstance(arch, str):
            sql += ' AND rpminfo.arch = ?'
            arch_params = [arch]
        elif isinstance(arch, (list, tuple)):
            sql += ' AND rpminfo.arch IN (%s)' % (', '.join(['?'] * len(arch)) or 'NULL')
            arch_params = list(arch)
        else:
            raise koji.GenericError('Invalid type for arch option: %s' % type(arch))
    sql += ' ORDER BY rpminfo.id'
    rpms = []
    seen_tags = set()
    for tag_id in _taglist(hub, tag, inherit):
        if tag_id in seen_tags:
            continue
        seen_tags.add(tag_id)
        for row in hub.db.query(sql, params + [tag_id] + arch_params):
            build = build_idx.get(row['build_id'])
            if build is None or build['tag_id'] != tag_id:
                continue
            info = builds.rpm_out(row)
            for key in ('external_repo_id', 'external_repo_name'):
                del info[key]
            if not extra:
                del info['extra']
            if rpmsigs:
                sigkeys = hub.db.column('SELECT sigkey FROM rpmsigs WHERE rpm_id = ? '
                                        'ORDER BY sigkey', (row['id'],)) or [None]
                for sigkey in sigkeys:
                    rpms.append(dict(info, sigkey=sigkey))
                continue
            rpms.append(info)
    return [rpms, blist]


def list_tags_of(hub, build=None, package=None):
    """Ids of tags a build is tagged in (or a package is listed in), for listTags."""
    if build is not None:
        binfo = builds.get_build(hub, build)
        if not binfo:
            raise koji.GenericError('No such build: %s' % build)
        return hub.db.column('SELECT DISTINCT tag_id FROM tag_listing WHERE build_id = ? '
                             'AND active = 1 ORDER BY tag_id', (binfo['id'],))
    pinfo = names.lookup_package(hub, package)
    if not pinfo:
        raise koji.GenericError('No such package: %s' % package)
    return hub.db.column('SELECT DISTINCT tag_id FROM tag_packages WHERE package_id = ? '
                         'AND active = 1 ORDER BY tag_id', (pinfo['id'],))


# -- change events ----------------------------------------------------------------------

def set_tag_update(hub, tag_id, utype):
    """Record a non-versioned change of a tag (kojihub's set_tag_update)."""
    sess = context.session()
    user_id = sess.user_id if sess is not None and sess.logged_in else None
    hub.db.insert('tag_updates', tag_id=tag_id, update_event=context.state_changed(),
                  updater_id=user_id, update_type=utype)


def _change_events(hub, tag_ids):
    """Every event that changed one of the tags (one UNION query)."""
    marks = ', '.join(['?'] * len(tag_ids))
    parts = ['SELECT update_event AS ev FROM tag_updates WHERE tag_id IN (%s)' % marks,
             'SELECT create_event AS ev FROM tags WHERE id IN (%s)' % marks]
    for table in TAG_TABLES:
        parts.append('SELECT create_event AS ev FROM %s WHERE tag_id IN (%s)' % (table, marks))
        parts.append('SELECT revoke_event AS ev FROM %s WHERE tag_id IN (%s)' % (table, marks))
    events = hub.db.column(' UNION '.join(parts), list(tag_ids) * len(parts))
    return [e for e in events if e is not None]


def tag_change_events(hub, tag, inherit=True):
    """The sorted events that changed a tag (and, with inherit, its parents)."""
    tag_id = tags.get_tag(hub, tag, strict=True)['id']
    return sorted(_change_events(hub, _taglist(hub, tag_id, inherit)))


def tag_last_change_event(hub, tag, before=None, inherit=True):
    """The last event (before ``before``, if given) that changed the tag, or None."""
    tag_id = tags.get_tag(hub, tag, strict=True)['id']
    if before is not None:
        before = int(before)
    events = _change_events(hub, _taglist(hub, tag_id, inherit))
    if before is not None:
        events = [e for e in events if e < before]
    return max(events) if events else None


def tag_first_change_event(hub, tag, after=None, inherit=True):
    """The first event (after ``after``, if given) that changed the tag, or None."""
    tag_id = tags.get_tag(hub, tag, strict=True)['id']
    if after is not None:
        after = int(after)
    events = _change_events(hub, _taglist(hub, tag_id, inherit))
    if after is not None:
        events = [e for e in events if e > after]
    return min(events) if events else None


def tag_changed_since_event(hub, event, taglist):
    """Whether any of the tags (no inheritance) changed after event."""
    tag_ids = [tags.get_tag_id(hub, t, strict=True) for t in taglist]
    if not tag_ids:
        return False
    return any(e > event for e in _change_events(hub, tag_ids))


# -- history (kojihub's query_history, for the versioned tables the dev hub has) ------------

HISTORY_TABLES = {
    'tag_listing': ('build_id', 'tag_id'),
    'tag_packages': ('package_id', 'tag_id', 'blocked', 'extra_arches'),
    'tag_package_owners': ('package_id', 'tag_id', 'owner'),
    'group_config': ('group_id', 'tag_id', 'blocked', 'exported', 'display_name', 'is_default',
                     'uservisible', 'description', 'langonly', 'biarchonly'),
    'group_req_listing': ('group_id', 'tag_id', 'req_id', 'blocked', 'type', 'is_metapkg'),
    'group_package_listing': ('group_id', 'tag_id', 'package', 'blocked', 'type',
                              'basearchonly', 'requires'),
}
# koji's other history tables: known (for which filters apply), not versioned here (empty)
OTHER_HISTORY_TABLES = {
    'user_perms': ('user_id', 'perm_id'),
    'user_groups': ('user_id', 'group_id'),
    'cg_users': ('user_id', 'cg_id'),
    'tag_inheritance': ('tag_id', 'parent_id', 'priority', 'maxdepth', 'intransitive',
                        'noconfig', 'pkg_filter'),
    'tag_config': ('tag_id', 'arches', 'perm_id', 'locked', 'maven_support',
                   'maven_include_all'),
    'tag_extra': ('tag_id', 'key', 'value'),
    'build_target_config': ('build_target_id', 'build_tag', 'dest_tag'),
    'external_repo_config': ('external_repo_id', 'url'),
    'host_config': ('host_id', 'arches', 'capacity', 'description', 'comment', 'enabled'),
    'host_channels': ('host_id', 'channel_id'),
    'tag_external_repos': ('tag_id', 'external_repo_id', 'priority', 'merge_mode'),
}
# the filters of queryHistory and the fields a table needs for them (else it is left out)
_FILTER_FIELDS = {
    'tag': ('tag_id', 'parent_id', 'build_tag', 'dest_tag'),
    'build': ('build_id',),
    'package': ('build_id', 'package_id', 'package'),
    'pkg': ('build_id', 'package_id', 'package'),
    'user': ('user_id', 'owner'),
    'host': ('host_id',),
    'channel': ('channel_id',),
    'permission': ('perm_id',),
    'cg': ('cg_id',),
    'external_repo': ('external_repo_id',),
    'build_target': ('build_target_id',),
    'xkey': ('key',),
}


def _history_applies(table, fields, kwargs):
    for arg in kwargs:
        if arg == 'group':
            if not (table.startswith('group_') and 'group_id' in fields):
                return False
        elif arg in _FILTER_FIELDS and not set(_FILTER_FIELDS[arg]) & set(fields):
            return False
    return True


_HISTORY_BOOLS = ('blocked', 'exported', 'is_default', 'uservisible', 'biarchonly',
                  'basearchonly', 'is_metapkg')


def _history_rows(hub, table):
    cols = ['t.%s AS "%s"' % (f, f) for f in HISTORY_TABLES[table]]
    cols += ['t.active AS active', 't.create_event AS create_event',
             't.revoke_event AS revoke_event', 't.creator_id AS creator_id',
             't.revoker_id AS revoker_id', 'creator.name AS creator_name',
             'revoker.name AS revoker_name', 'ev1.ts AS create_ts', 'ev2.ts AS revoke_ts',
             'tags.name AS "tag.name"']
    joins = ['JOIN events AS ev1 ON ev1.id = t.create_event',
             'LEFT JOIN events AS ev2 ON ev2.id = t.revoke_event',
             'LEFT JOIN users AS creator ON creator.id = t.creator_id',
             'LEFT JOIN users AS revoker ON revoker.id = t.revoker_id',
             'LEFT JOIN tags ON tags.id = t.tag_id']
    fields = HISTORY_TABLES[table]
    if 'build_id' in fields:
        cols += ['package.name AS name', 'build.version AS version', 'build.release AS release',
                 'build.epoch AS epoch', 'build.state AS "build.state"',
                 'package.id AS _package_id']
        joins += ['JOIN build ON build.id = t.build_id',
                  'JOIN package ON package.id = build.pkg_id']
    if 'package_id' in fields:
        cols += ['package.name AS "package.name"']
        joins += ['LEFT JOIN package ON package.id = t.package_id']
    if 'owner' in fields:
        cols += ['owner.name AS "owner.name"']
        joins += ['LEFT JOIN users AS owner ON owner.id = t.owner']
    if 'group_id' in fields:
        cols += ['groups.name AS "group.name"']
        joins += ['JOIN groups ON groups.id = t.group_id']
    if 'req_id' in fields:
        cols += ['req.name AS "req.name"']
        joins += ['LEFT JOIN groups AS req ON req.id = t.req_id']
    sql = 'SELECT %s FROM %s AS t %s ORDER BY t.create_event, t.rowid' % (
        ', '.join(cols), table, ' '.join(joins))
    rows = hub.db.query(sql)
    for row in rows:
        row['active'] = True if row['active'] else None
        for key in _HISTORY_BOOLS:
            if key in row and row[key] is not None:
                row[key] = bool(row[key])
    return rows


def _time_value(value):
    if isinstance(value, str):
        return koji.util.parseTime(value)
    return float(value)


def query_history(hub, tables=None, **kwargs):
    """queryHistory: {table: [rows]} of the versioned tables, filtered as kojihub does."""
    queryOpts = kwargs.pop('queryOpts', None)
    if tables is None:
        tables = sorted(list(HISTORY_TABLES) + list(OTHER_HISTORY_TABLES))
    for table in tables:
        if table not in HISTORY_TABLES and table not in OTHER_HISTORY_TABLES:
            raise koji.GenericError('No such history table: %s' % table)
    ret = {}
    for table in tables:
        if table not in HISTORY_TABLES:
            if _history_applies(table, OTHER_HISTORY_TABLES[table], kwargs):
                ret[table] = []
            continue
        fields = HISTORY_TABLES[table]
        if not _history_applies(table, fields, kwargs):
            continue
        checks = []
        skip = False
        for arg, value in kwargs.items():
            if arg == 'tag':
                tag_id = tags.get_tag_id(hub, value, strict=True)
                checks.append(lambda r, v=tag_id: r['tag_id'] == v)
            elif arg == 'build':
                if 'build_id' not in fields:
                    skip = True
                    break
                build_id = builds.get_build(hub, value, strict=True)['id']
                checks.append(lambda r, v=build_id: r['build_id'] == v)
            elif arg in ('package', 'pkg'):
                if 'build_id' in fields:
                    pkg_id = names.get_package_id(hub, value, strict=True)
                    checks.append(lambda r, v=pkg_id: r['_package_id'] == v)
                elif 'package_id' in fields:
                    pkg_id = names.get_package_id(hub, value, strict=True)
                    checks.append(lambda r, v=pkg_id: r['package_id'] == v)
                elif 'package' in fields:
                    checks.append(lambda r, v=str(value): r['package'] == v)
                else:
                    skip = True
                    break
            elif arg == 'user':
                if 'owner' not in fields:
                    skip = True
                    break
                user_id = users.get_user(hub, value, strict=True)['id']
                checks.append(lambda r, v=user_id: r['owner'] == v)
            elif arg == 'group':
                if 'group_id' not in fields:
                    skip = True
                    break
                group_id = hub.db.value('SELECT id FROM groups WHERE name = ? OR id = ?',
                                        (value, value))
                if group_id is None:
                    raise koji.GenericError('No such entry in table groups: %s' % value)
                checks.append(lambda r, v=group_id: r['group_id'] == v)
            elif arg == 'active':
                if value:
                    checks.append(lambda r: r['active'])
                elif value is not None:
                    checks.append(lambda r: not r['active'])
            elif arg == 'editor':
                user_id = users.get_user(hub, value, strict=True)['id']
                checks.append(lambda r, v=user_id: v in (r['creator_id'], r['revoker_id']))
            elif arg == 'after':
                ts = _time_value(value)
                checks.append(lambda r, v=ts: r['create_ts'] > v or
                              (r['revoke_ts'] is not None and r['revoke_ts'] > v))
            elif arg == 'before':
                ts = _time_value(value)
                checks.append(lambda r, v=ts: r['create_ts'] < v or
                              (r['revoke_ts'] is not None and r['revoke_ts'] < v))
            elif arg == 'afterEvent':
                checks.append(lambda r, v=int(value): r['create_event'] > v or
                              (r['revoke_event'] is not None and r['revoke_event'] > v))
            elif arg == 'beforeEvent':
                checks.append(lambda r, v=int(value): r['create_event'] < v or
                              (r['revoke_event'] is not None and r['revoke_event'] < v))
            elif arg in ('host', 'channel', 'permission', 'cg', 'external_repo', 'build_target',
                         'xkey'):
                skip = True
                break
        if skip:
            continue
        rows = [r for r in _history_rows(hub, table) if all(check(r) for check in checks)]
        for row in rows:
            row.pop('_package_id', None)
        ret[table] = apply_query_opts(rows, queryOpts)
    return ret
