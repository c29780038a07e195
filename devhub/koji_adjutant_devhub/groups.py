"""Comps groups of tags (kojihub's grplist_*, grp_pkg_*, grp_req_*, readTagGroups).

A tag's groups (``build``, ``srpm-build``, ...) with their package lists and
required groups are inherited like package lists: the first entry found
along the inheritance wins, and blocked entries hide what they block.
``repoInit`` writes them as the repo's ``groups/comps.xml`` with
``koji.generate_comps``.
"""

import koji

from . import context
from . import names
from . import tags
from . import versioned

GROUP_FIELDS = ('exported', 'display_name', 'is_default', 'uservisible', 'description',
                'langonly', 'biarchonly', 'blocked')
BOOL_FIELDS = ('blocked', 'exported', 'is_default', 'uservisible', 'biarchonly', 'basearchonly',
               'is_metapkg')


def _assert_tag_perm():
    context.session().assertPerm('tag')


def lookup_group(hub, info, strict=False, create=False):
    return names.lookup_name(hub, 'groups', info, strict=strict, create=create)


def _bools(row):
    for key in BOOL_FIELDS:
        if key in row and row[key] is not None:
            row[key] = bool(row[key])
    return row


def get_tag_groups(hub, tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True):
    """{group_id: group} for a tag (blocked entries included), kojihub's get_tag_groups."""
    tag_id = tags.get_tag_id(hub, tag, strict=True)
    taglist = [tag_id]
    if inherit:
        taglist += [link['parent_id'] for link in tags.read_full_inheritance(hub, tag_id)]
    clause, params = versioned.event_clause(event, None)
    groups = {}
    for tid in taglist:
        rows = hub.db.query(
            'SELECT groups.name AS name, group_id, tag_id, blocked, exported, display_name, '
            'is_default, uservisible, description, langonly, biarchonly FROM group_config '
            'JOIN groups ON groups.id = group_config.group_id WHERE %s AND tag_id = ? '
            'ORDER BY group_config.rowid' % clause, params + [tid])
        for row in rows:
            groups.setdefault(row['group_id'], _bools(row))
    if incl_pkgs:
        for group in groups.values():
            group['packagelist'] = {}
        for tid in taglist:
            rows = hub.db.query(
                'SELECT group_id, tag_id, package, blocked, type, basearchonly, requires '
                'FROM group_package_listing WHERE %s AND tag_id = ? ORDER BY rowid' % clause,
                params + [tid])
            for row in rows:
                group = groups.get(row['group_id'])
                if group is None or group['blocked']:
                    continue
                group['packagelist'].setdefault(row['package'], _bools(row))
    if incl_reqs:
        for group in groups.values():
            group['grouplist'] = {}
        for tid in taglist:
            rows = hub.db.query(
                'SELECT group_id, tag_id, req_id, blocked, type, is_metapkg, groups.name AS name '
                'FROM group_req_listing JOIN groups ON groups.id = group_req_listing.req_id '
                'WHERE %s AND tag_id = ? ORDER BY group_req_listing.rowid'
                % versioned.event_clause(event, 'group_req_listing')[0], params + [tid])
            for row in rows:
                group = groups.get(row['group_id'])
                if group is None or group['blocked']:
                    continue
                req = groups.get(row['req_id'])
                if req is None or req['blocked']:
                    continue
                group['grouplist'].setdefault(row['req_id'], _bools(row))
    return groups


def read_tag_groups(hub, tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True,
                    incl_blocked=False):
    """getTagGroups: the groups as a list, blocked entries removed (unless incl_blocked)."""
    groups = list(get_tag_groups(hub, tag, event, inherit, incl_pkgs, incl_reqs).values())
    for group in groups:
        for key in ('packagelist', 'grouplist'):
            if key in group:
                entries = list(group[key].values())
                if not incl_blocked:
                    entries = [x for x in entries if not x['blocked']]
                group[key] = entries
    if incl_blocked:
        return groups
    return [g for g in groups if not g['blocked']]


# -- versioned entries: groups, group packages, group requirements -------------------------

def _merge_previous(opts, previous, fields):
    """Complete opts with the previous entry's values; True if opts change any of them."""
    changed = False
    for field in fields:
        if field in opts:
            if opts[field] != previous[field]:
                changed = True
        else:
            opts[field] = previous[field]
    return changed


def _replace_entry(hub, table, keys, values):
    """Revoke the active entry of keys in table and create one with keys and values."""
    where = ' AND '.join('%s = ?' % column for column in keys)
    versioned.revoke(hub, table, where, tuple(keys.values()))
    values = dict((k, (int(v) if isinstance(v, bool) else v)) for k, v in values.items())
    versioned.create(hub, table, **dict(keys, **values))


def _unblock_entry(hub, table, keys, not_blocked_message):
    """Revoke the blocking entry of keys in table; GenericError if it is not blocked."""
    where = ' AND '.join('%s = ?' % column for column in keys)
    blocked = hub.db.value('SELECT blocked FROM %s WHERE %s AND active = 1' % (table, where),
                           tuple(keys.values()))
    if not blocked:
        raise koji.GenericError(not_blocked_message)
    versioned.revoke(hub, table, where, tuple(keys.values()))


# -- groups ---------------------------------------------------------------------------

def grplist_add(hub, taginfo, grpinfo, block=False, force=False, **opts):
    _assert_tag_perm()
    tag = tags.get_tag(hub, taginfo, strict=True)
    group = lookup_group(hub, grpinfo, create=True)
    opts['blocked'] = bool(block)
    previous = get_tag_groups(hub, tag['id'], inherit=True, incl_pkgs=False,
                              incl_reqs=False).get(group['id'])
    opts = dict((k, v) for k, v in opts.items() if k in GROUP_FIELDS)
    if previous is not None:
        if previous['blocked'] and not force:
            raise koji.GenericError('group %s is blocked in tag %s' % (group['name'], tag['name']))
        if not _merge_previous(opts, previous, GROUP_FIELDS):
            return None
    opts.setdefault('display_name', group['name'])
    opts.setdefault('biarchonly', False)
    opts.setdefault('exported', True)
    opts.setdefault('uservisible', True)
    _replace_entry(hub, 'group_config', {'group_id': group['id'], 'tag_id': tag['id']}, opts)
    return None


def grplist_remove(hub, taginfo, grpinfo, force=False):
    _assert_tag_perm()
    tag = tags.get_tag(hub, taginfo, strict=True)
    group = lookup_group(hub, grpinfo, strict=True)
    if not force:
        active = hub.db.value('SELECT group_id FROM group_config WHERE group_id = ? AND '
                              'tag_id = ? AND active = 1', (group['id'], tag['id']))
        if not active:
            raise koji.GenericError('No group: %s found for tag: %s'
                                    % (group['name'], tag['name']))
    versioned.revoke(hub, 'group_config', 'group_id = ? AND tag_id = ?',
                     (group['id'], tag['id']))


def grplist_block(hub, taginfo, grpinfo):
    grplist_add(hub, taginfo, grpinfo, block=True)


def grplist_unblock(hub, taginfo, grpinfo):
    _assert_tag_perm()
    tag = tags.get_tag(hub, taginfo, strict=True)
    group = lookup_group(hub, grpinfo, strict=True)
    _unblock_entry(hub, 'group_config', {'group_id': group['id'], 'tag_id': tag['id']},
                   'group %s is NOT blocked in tag %s' % (group['name'], tag['name']))


# -- group packages -------------------------------------------------------------------------

def _group_in_tag(hub, tag, group, incl_pkgs, incl_reqs):
    groups = get_tag_groups(hub, tag['id'], inherit=True, incl_pkgs=incl_pkgs,
                            incl_reqs=incl_reqs)
    cfg = groups.get(group['id'])
    if cfg is None:
        raise koji.GenericError('group %s not present in tag %s' % (group['name'], tag['name']))
    if cfg['blocked']:
        raise koji.GenericError('group %s is blocked in tag %s' % (group['name'], tag['name']))
    return cfg


def grp_pkg_add(hub, taginfo, grpinfo, pkg_name, block=False, force=False, **opts):
    _assert_tag_perm()
    tag = tags.get_tag(hub, taginfo, strict=True)
    group = lookup_group(hub, grpinfo, strict=True)
    block = bool(block)
    cfg = _group_in_tag(hub, tag, group, incl_pkgs=True, incl_reqs=False)
    previous = cfg['packagelist'].get(pkg_name)
    fields = ('type', 'basearchonly', 'requires')
    opts = dict((k, v) for k, v in opts.items() if k in fields)
    if previous is not None:
        if previous['blocked'] and not force:
            raise koji.GenericError('package %s blocked in group %s, tag %s'
                                    % (pkg_name, group['name'], tag['name']))
        changed = _merge_previous(opts, previous, fields) or block
        if not changed and not force:
            return None
    opts.setdefault('type', 'mandatory')
    opts['blocked'] = block
    _replace_entry(hub, 'group_package_listing',
                   {'group_id': group['id'], 'tag_id': tag['id'], 'package': pkg_name}, opts)
    return None


def grp_pkg_remove(hub, taginfo, grpinfo, pkg_name):
    _assert_tag_perm()
    tag_id = tags.get_tag_id(hub, taginfo, strict=True)
    grp_id = names.get_id(hub, 'groups', grpinfo, strict=True)
    versioned.revoke(hub, 'group_package_listing', 'package = ? AND tag_id = ? AND group_id = ?',
                     (pkg_name, tag_id, grp_id))


def grp_pkg_block(hub, taginfo, grpinfo, pkg_name):
    grp_pkg_add(hub, taginfo, grpinfo, pkg_name, block=True)


def grp_pkg_unblock(hub, taginfo, grpinfo, pkg_name):
    _assert_tag_perm()
    tag_id = tags.get_tag_id(hub, taginfo, strict=True)
    grp_id = names.get_id(hub, 'groups', grpinfo, strict=True)
    _unblock_entry(hub, 'group_package_listing',
                   {'group_id': grp_id, 'tag_id': tag_id, 'package': pkg_name},
                   'package %s is NOT blocked in group %s, tag %s' % (pkg_name, grp_id, tag_id))


# -- group requirements ------------------------------------------------------------------

def grp_req_add(hub, taginfo, grpinfo, reqinfo, block=False, force=False, **opts):
    _assert_tag_perm()
    tag = tags.get_tag(hub, taginfo, strict=True)
    group = lookup_group(hub, grpinfo, strict=True)
    req = lookup_group(hub, reqinfo, strict=True)
    block = bool(block)
    cfg = _group_in_tag(hub, tag, group, incl_pkgs=False, incl_reqs=True)
    previous = cfg['grouplist'].get(req['id'])
    fields = ('type', 'is_metapkg')
    opts = dict((k, v) for k, v in opts.items() if k in fields)
    if previous is not None:
        if previous['blocked'] and not force:
            raise koji.GenericError('requirement on group %s blocked in group %s, tag %s'
                                    % (req['name'], group['name'], tag['name']))
        if not (_merge_previous(opts, previous, fields) or block):
            return None
    opts.setdefault('type', 'mandatory')
    opts['blocked'] = block
    _replace_entry(hub, 'group_req_listing',
                   {'group_id': group['id'], 'tag_id': tag['id'], 'req_id': req['id']}, opts)
    return None


def grp_req_remove(hub, taginfo, grpinfo, reqinfo, force=None):
    _assert_tag_perm()
    tag_id = tags.get_tag_id(hub, taginfo, strict=True)
    grp_id = names.get_id(hub, 'groups', grpinfo, strict=True)
    req_id = names.get_id(hub, 'groups', reqinfo, strict=True)
    versioned.revoke(hub, 'group_req_listing', 'req_id = ? AND tag_id = ? AND group_id = ?',
                     (req_id, tag_id, grp_id))


def grp_req_block(hub, taginfo, grpinfo, reqinfo):
    grp_req_add(hub, taginfo, grpinfo, reqinfo, block=True)


def grp_req_unblock(hub, taginfo, grpinfo, reqinfo):
    _assert_tag_perm()
    tag_id = tags.get_tag_id(hub, taginfo, strict=True)
    grp_id = names.get_id(hub, 'groups', grpinfo, strict=True)
    req_id = names.get_id(hub, 'groups', reqinfo, strict=True)
    _unblock_entry(hub, 'group_req_listing',
                   {'group_id': grp_id, 'tag_id': tag_id, 'req_id': req_id},
                   'group req %s is NOT blocked in group %s, tag %s' % (req_id, grp_id, tag_id))
