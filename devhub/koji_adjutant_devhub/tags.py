"""Tags, tag inheritance, build configuration and build targets.

Not versioned: the dev hub keeps only the current configuration, so an
``event`` argument is accepted (and checked to exist) but answers come from
the present state.
"""

import json

import koji

from . import context
from . import users
from .query import apply_query_opts

INHERITANCE_FIELDS = ('parent_id', 'priority', 'maxdepth', 'intransitive', 'noconfig',
                      'pkg_filter')


def _check_event(hub, event):
    if event is None or event == 'auto':
        return
    if not isinstance(event, int) or isinstance(event, bool):
        raise koji.GenericError('Invalid event: %r' % (event,))
    if hub.db.value('SELECT id FROM events WHERE id = ?', (event,)) is None:
        raise koji.GenericError('No such event: %s' % event)


def _tag_row(hub, tagInfo):
    if isinstance(tagInfo, dict):
        if 'id' in tagInfo:
            tagInfo = tagInfo['id']
        elif 'name' in tagInfo:
            tagInfo = tagInfo['name']
        else:
            raise koji.ParameterError('Invalid name or id value: %r' % (tagInfo,))
    if isinstance(tagInfo, bool):
        raise koji.ParameterError('Invalid name or id value: %r' % (tagInfo,))
    if isinstance(tagInfo, int):
        return hub.db.one('SELECT * FROM tags WHERE id = ?', (tagInfo,))
    if isinstance(tagInfo, str):
        return hub.db.one('SELECT * FROM tags WHERE name = ?', (tagInfo,))
    raise koji.ParameterError('Invalid name or id value: %r' % (tagInfo,))


def get_tag(hub, tagInfo, strict=False, event=None, blocked=False):
    """kojihub's tag map: id, name, perm_id, perm, arches, locked, maven flags, extra."""
    _check_event(hub, event)
    row = _tag_row(hub, tagInfo)
    if row is None:
        if strict:
            raise koji.GenericError('No such tagInfo: %r' % (tagInfo,))
        return None
    perm = None
    if row['perm_id'] is not None:
        perm = hub.db.value('SELECT name FROM permissions WHERE id = ?', (row['perm_id'],))
    extra = json.loads(row['extra'] or '{}')
    if blocked:
        extra = dict((key, (False, value)) for key, value in extra.items())
    info = {
        'id': row['id'],
        'name': row['name'],
        'perm_id': row['perm_id'],
        'perm': perm,
        'arches': row['arches'],
        'locked': bool(row['locked']),
        'maven_support': bool(row['maven_support']),
        'maven_include_all': bool(row['maven_include_all']),
        'extra': extra,
    }
    if event is not None:
        info['query_event'] = event
    return info


def get_tag_id(hub, tagInfo, strict=False):
    tag = get_tag(hub, tagInfo, strict=strict)
    return tag['id'] if tag else None


def create_tag(hub, name, parent=None, arches=None, perm=None, locked=False,
               maven_support=False, maven_include_all=False, extra=None):
    users.verify_name(name, 'Tag name')
    # no arches is stored as NULL so that getBuildConfig inherits them
    arches = koji.parse_arches(arches, strict=True, allow_none=True) or None
    if maven_support or maven_include_all:
        raise koji.GenericError('Maven support not enabled')
    if get_tag(hub, name):
        raise koji.GenericError("A tag with the name '%s' already exists" % name)
    parent_id = None
    if parent:
        parent_tag = get_tag(hub, parent)
        if not parent_tag:
            raise koji.GenericError("Parent tag '%s' could not be found" % parent)
        parent_id = parent_tag['id']
    perm_id = None
    if perm is not None:
        perm_id = users.lookup_perm(hub, perm, strict=True)['id']
    if extra is not None and not isinstance(extra, dict):
        raise koji.ParameterError('Invalid type for extra: %s, expected dict' % type(extra))
    tag_id = hub.db.insert('tags', name=name, arches=arches, perm_id=perm_id,
                           locked=1 if locked else 0, extra=json.dumps(extra or {}),
                           create_event=context.state_changed())
    if parent_id:
        write_inheritance(hub, tag_id, [{'parent_id': parent_id, 'priority': 0,
                                         'maxdepth': None, 'intransitive': False,
                                         'noconfig': False, 'pkg_filter': ''}])
    return tag_id


def edit_tag(hub, tagInfo, **kwargs):
    """editTag2: name, arches, locked, perm/perm_id, extra, remove_extra, block_extra."""
    allowed = {'name', 'arches', 'locked', 'perm', 'perm_id', 'maven_support',
               'maven_include_all', 'extra', 'remove_extra', 'block_extra'}
    unknown = set(kwargs) - allowed
    if unknown:
        raise koji.ParameterError('Unknown tag option(s): %s' % ', '.join(sorted(unknown)))
    if kwargs.get('maven_support') or kwargs.get('maven_include_all'):
        raise koji.GenericError('Maven support not enabled')
    if kwargs.get('block_extra'):
        raise koji.GenericError('block_extra is not supported by the dev hub')
    tag = get_tag(hub, tagInfo, strict=True)
    changes = {}
    name = kwargs.get('name')
    if name and name != tag['name']:
        users.verify_name(name, 'Tag name')
        other = hub.db.value('SELECT id FROM tags WHERE name = ?', (name,))
        if other is not None:
            raise koji.GenericError('Name %s already taken by tag %s' % (name, other))
        changes['name'] = name
    if 'arches' in kwargs and kwargs['arches'] != tag['arches']:
        changes['arches'] = koji.parse_arches(kwargs['arches'], strict=True,
                                              allow_none=True) or None
    if 'locked' in kwargs:
        changes['locked'] = 1 if kwargs['locked'] else 0
    perm = kwargs.get('perm_id', kwargs.get('perm', tag['perm_id']))
    if ('perm_id' in kwargs or 'perm' in kwargs):
        changes['perm_id'] = None if perm is None else \
            users.lookup_perm(hub, perm, strict=True)['id']
    extra = dict(tag['extra'])
    if 'extra' in kwargs:
        new_extra = kwargs['extra'] or {}
        if not isinstance(new_extra, dict):
            raise koji.ParameterError('Invalid type for extra: %s' % type(new_extra))
        removed = set(kwargs.get('remove_extra') or [])
        conflicts = removed & set(new_extra)
        if conflicts:
            raise koji.GenericError("Can not both add/update and remove tag-extra: '%s'"
                                    % conflicts.pop())
        extra.update(new_extra)
    if kwargs.get('remove_extra'):
        if not isinstance(kwargs['remove_extra'], (list, tuple)):
            raise koji.ParameterError('Invalid type for remove_extra: expected list')
        missing = [key for key in kwargs['remove_extra'] if key not in tag['extra']]
        if missing:
            raise koji.GenericError("Tag: %s doesn't have extra: %s"
                                    % (tag['name'], ', '.join(missing)))
        for key in kwargs['remove_extra']:
            extra.pop(key, None)
    if extra != tag['extra']:
        changes['extra'] = json.dumps(extra)
    if changes:
        hub.db.update('tags', 'id = ?', (tag['id'],), **changes)
        record_change(hub, tag['id'])


def record_change(hub, tag_id, utype='CONFIG'):
    """Note a change of a tag's (non-versioned) configuration for tagLastChangeEvent."""
    event = context.state_changed()
    sess = context.session()
    user_id = sess.user_id if sess is not None and sess.logged_in else None
    hub.db.insert('tag_updates', tag_id=tag_id, update_event=event, updater_id=user_id,
                  update_type=utype)
    return event


# -- inheritance ---------------------------------------------------------------------

def read_inheritance(hub, tag_id):
    rows = hub.db.query('SELECT tag_inheritance.*, tags.name AS name FROM tag_inheritance '
                        'JOIN tags ON tags.id = tag_inheritance.parent_id '
                        'WHERE tag_inheritance.tag_id = ? ORDER BY priority', (tag_id,))
    result = []
    for row in rows:
        result.append({
            'parent_id': row['parent_id'], 'name': row['name'], 'priority': row['priority'],
            'maxdepth': row['maxdepth'], 'intransitive': bool(row['intransitive']),
            'noconfig': bool(row['noconfig']), 'pkg_filter': row['pkg_filter'],
            'child_id': tag_id,
        })
    return result


def read_descendants(hub, tag_id):
    rows = hub.db.query('SELECT tag_inheritance.*, tags.name AS name FROM tag_inheritance '
                        'JOIN tags ON tags.id = tag_inheritance.tag_id '
                        'WHERE tag_inheritance.parent_id = ? ORDER BY priority', (tag_id,))
    return [{'tag_id': r['tag_id'], 'parent_id': r['parent_id'], 'name': r['name'],
             'priority': r['priority'], 'maxdepth': r['maxdepth'],
             'intransitive': bool(r['intransitive']), 'noconfig': bool(r['noconfig']),
             'pkg_filter': r['pkg_filter']} for r in rows]


def write_inheritance(hub, tag_id, changes, clear=False):
    """setInheritanceData: add, change or ('delete link') remove parent links."""
    if isinstance(changes, dict):
        changes = [changes]
    if not isinstance(changes, (list, tuple)):
        raise koji.ParameterError('Invalid type for inheritance data: %s' % type(changes))
    for link in changes:
        fields = ('parent_id',) if link.get('delete link') else INHERITANCE_FIELDS
        for field in fields:
            if field not in link:
                raise koji.GenericError('No value for %s' % field)
        get_tag(hub, link['parent_id'], strict=True)
    current = dict((link['parent_id'], link) for link in read_inheritance(hub, tag_id))
    final = {} if clear else dict(current)
    for link in changes:
        if link.get('delete link'):
            final.pop(link['parent_id'], None)
        else:
            final[link['parent_id']] = dict((f, link[f]) for f in INHERITANCE_FIELDS)
    priorities = {}
    for parent_id, link in final.items():
        priorities.setdefault(link['priority'], []).append(parent_id)
    for prio, ids in priorities.items():
        if len(ids) > 1:
            raise koji.GenericError('Multiple parent tags (%r) cannot have the same priority '
                                    'value (%d) on child tag %d' % (ids, prio, tag_id))
    if tag_id in final:
        raise koji.GenericError('A tag cannot inherit from itself')
    hub.db.execute('DELETE FROM tag_inheritance WHERE tag_id = ?', (tag_id,))
    event = record_change(hub, tag_id)
    for parent_id, link in final.items():
        hub.db.insert('tag_inheritance', tag_id=tag_id, parent_id=parent_id,
                      priority=link['priority'], maxdepth=link['maxdepth'],
                      intransitive=1 if link['intransitive'] else 0,
                      noconfig=1 if link['noconfig'] else 0,
                      pkg_filter=link['pkg_filter'] or '', create_event=event)


def read_full_inheritance(hub, tag_id, reverse=False):
    """The ordered, flattened inheritance of a tag (getFullInheritance).

    Depth-first by priority, loops pruned, intransitive links only followed
    from the starting tag, maxdepth honoured, noconfig and package filters
    propagated to deeper links; a tag already reached is not listed twice.
    """
    order = []
    seen = set()

    def recurse(current, top, currdepth, maxdepth, noconfig, pfilter):
        if maxdepth is not None and maxdepth < 1:
            return
        currdepth += 1
        top = top | {current}
        links = read_descendants(hub, current) if reverse else read_inheritance(hub, current)
        for link in links:
            other = link['tag_id'] if reverse else link['parent_id']
            if other in top:
                continue  # loop
            if link['intransitive'] and len(top) > 1 and not reverse:
                continue
            if reverse:
                if link['maxdepth'] is not None and link['maxdepth'] < currdepth - 1:
                    continue
                nextdepth = None
            else:
                nextdepth = link['maxdepth']
                if nextdepth is None:
                    if maxdepth is not None:
                        nextdepth = maxdepth - 1
                elif maxdepth is not None:
                    nextdepth = min(nextdepth, maxdepth) - 1
            link_noconfig = noconfig or link['noconfig']
            flt = list(pfilter)
            if link['pkg_filter']:
                flt.append(link['pkg_filter'])
            link.update({'nextdepth': nextdepth, 'currdepth': currdepth, 'filter': flt})
            link['noconfig'] = link_noconfig
            if other in seen:
                continue
            seen.add(other)
            order.append(link)
            if link['intransitive'] and reverse:
                continue
            recurse(other, top, currdepth, nextdepth, link_noconfig, flt)

    recurse(tag_id, set(), 0, None, False, [])
    return order


def get_build_config(hub, tag, event=None):
    """Tag info with arches and extra inherited (first found wins)."""
    taginfo = get_tag(hub, tag, strict=True, event=event)
    taginfo['config_inheritance'] = {'extra': {}, 'arches': None}
    for link in read_full_inheritance(hub, taginfo['id']):
        if link['noconfig']:
            continue
        ancestor = get_tag(hub, link['parent_id'], strict=True)
        if not taginfo['arches'] and ancestor['arches']:
            taginfo['arches'] = ancestor['arches']
            taginfo['config_inheritance']['arches'] = {'id': ancestor['id'],
                                                       'name': ancestor['name']}
        for key, value in ancestor['extra'].items():
            if key not in taginfo['extra']:
                taginfo['extra'][key] = value
                taginfo['config_inheritance']['extra'][key] = {'id': ancestor['id'],
                                                               'name': ancestor['name']}
    return taginfo


def list_tags(hub):
    return [get_tag(hub, tag_id) for tag_id in hub.db.column('SELECT id FROM tags ORDER BY id')]


# -- build targets ---------------------------------------------------------------------

def _target_out(row):
    return {'id': row['id'], 'name': row['name'], 'build_tag': row['build_tag'],
            'dest_tag': row['dest_tag'], 'build_tag_name': row['build_tag_name'],
            'dest_tag_name': row['dest_tag_name']}


def get_build_targets(hub, info=None, event=None, buildTagID=None, destTagID=None,
                      queryOpts=None):
    _check_event(hub, event)
    sql = ('SELECT build_targets.*, t1.name AS build_tag_name, t2.name AS dest_tag_name '
           'FROM build_targets JOIN tags AS t1 ON t1.id = build_targets.build_tag '
           'JOIN tags AS t2 ON t2.id = build_targets.dest_tag')
    clauses, params = [], []
    if info:
        if isinstance(info, dict):
            info = info.get('id', info.get('name'))
        if isinstance(info, int) and not isinstance(info, bool):
            clauses.append('build_targets.id = ?')
        elif isinstance(info, str):
            clauses.append('build_targets.name = ?')
        else:
            raise koji.ParameterError('Invalid name or id value: %r' % (info,))
        params.append(info)
    if buildTagID is not None:
        clauses.append('build_targets.build_tag = ?')
        params.append(get_tag_id(hub, buildTagID))
    if destTagID is not None:
        clauses.append('build_targets.dest_tag = ?')
        params.append(get_tag_id(hub, destTagID))
    if clauses:
        sql += ' WHERE ' + ' AND '.join(clauses)
    rows = [_target_out(r) for r in hub.db.query(sql + ' ORDER BY build_targets.id', params)]
    return apply_query_opts(rows, queryOpts)


def get_build_target(hub, info, event=None, strict=False):
    targets = get_build_targets(hub, info=info, event=event)
    if len(targets) == 1:
        return targets[0]
    if strict:
        raise koji.GenericError('No such build target: %s' % (info,))
    return None


def create_build_target(hub, name, build_tag, dest_tag):
    users.verify_name(name, 'Target name')
    if get_build_targets(hub, info=name):
        raise koji.GenericError("A build target with the name '%s' already exists" % name)
    btag = get_tag(hub, build_tag)
    if not btag:
        raise koji.GenericError("build tag '%s' does not exist" % build_tag)
    dtag = get_tag(hub, dest_tag)
    if not dtag:
        raise koji.GenericError("destination tag '%s' does not exist" % dest_tag)
    hub.db.insert('build_targets', name=name, build_tag=btag['id'], dest_tag=dtag['id'],
                  create_event=context.state_changed())


def edit_build_target(hub, buildTargetInfo, name, build_tag, dest_tag):
    target = get_build_target(hub, buildTargetInfo)
    if not target:
        raise koji.GenericError('No such build target: %s' % buildTargetInfo)
    users.verify_name(name, 'Target name')
    other = hub.db.value('SELECT id FROM build_targets WHERE name = ?', (name,))
    if other is not None and other != target['id']:
        raise koji.GenericError('name "%s" is already taken by build target %i' % (name, other))
    btag = get_tag(hub, build_tag)
    if not btag:
        raise koji.GenericError("build tag '%s' does not exist" % build_tag)
    dtag = get_tag(hub, dest_tag)
    if not dtag:
        raise koji.GenericError("destination tag '%s' does not exist" % dest_tag)
    hub.db.update('build_targets', 'id = ?', (target['id'],), name=name,
                  build_tag=btag['id'], dest_tag=dtag['id'])
    context.state_changed()


def delete_build_target(hub, buildTargetInfo):
    target = get_build_target(hub, buildTargetInfo)
    if not target:
        raise koji.GenericError('No such build target: %s' % buildTargetInfo)
    hub.db.execute('DELETE FROM build_targets WHERE id = ?', (target['id'],))
    context.state_changed()
