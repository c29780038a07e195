"""Tag package lists (kojihub's pkglist_* functions, readPackageList); the package
table itself is read and written through ``names``.

A tag's package list says which packages may be tagged into it (and who owns
them there); entries are inherited through tag inheritance (filtered by the
links' package filters) and a ``blocked`` entry hides a package from a tag
and its children.  Changes to package lists are checked against the
``package_list`` policy; the dev hub applies koji's default policy (admin or
``tag`` permission, ``force`` lets an admin through).
"""

import re

import koji

from . import context
from . import names
from . import policy
from . import tags
from . import users
from . import versioned
from .query import apply_query_opts


# -- policy ------------------------------------------------------------------------

def assert_package_list_policy(tag_id, action, pkginfo, force=False):
    """The ``package_list`` policy (koji's default: admin or tag permission)."""
    data = {'tag': tag_id, 'action': action, 'package': pkginfo, 'force': force}
    policy.assert_policy('package_list', data, force=force)


# -- reading -------------------------------------------------------------------------

def _package_rows(hub, tag_id=None, user_id=None, pkg=None, event=None, with_owners=True,
                  with_blocked=True):
    cols = ['package.id AS package_id', 'package.name AS package_name', 'tags.id AS tag_id',
            'tags.name AS tag_name', 'tag_packages.extra_arches AS extra_arches',
            'tag_packages.blocked AS blocked']
    joins = ['JOIN tags ON tags.id = tag_packages.tag_id',
             'JOIN package ON package.id = tag_packages.package_id']
    clause, params = versioned.event_clause(event, 'tag_packages')
    clauses = [clause]
    if with_owners:
        cols += ['users.id AS owner_id', 'users.name AS owner_name']
        oclause, oparams = versioned.event_clause(event, 'tag_package_owners')
        joins += ['JOIN tag_package_owners ON tag_package_owners.tag_id = tag_packages.tag_id '
                  'AND tag_package_owners.package_id = tag_packages.package_id AND ' + oclause,
                  'JOIN users ON users.id = tag_package_owners.owner']
        params = oparams + params
    if tag_id is not None:
        clauses.append('tags.id = ?')
        params.append(tag_id)
    if user_id is not None:
        clauses.append('users.id = ?')
        params.append(user_id)
    if pkg is not None:
        if isinstance(pkg, int) and not isinstance(pkg, bool):
            clauses.append('package.id = ?')
        else:
            clauses.append('package.name = ?')
        params.append(pkg)
    if not with_blocked:
        clauses.append('tag_packages.blocked = 0')
    sql = 'SELECT %s FROM tag_packages %s WHERE %s ORDER BY package.id' % (
        ', '.join(cols), ' '.join(joins), ' AND '.join(clauses))
    rows = hub.db.query(sql, params)
    for row in rows:
        row['blocked'] = bool(row['blocked'])
    return rows


def read_package_list(hub, tagID=None, userID=None, pkgID=None, event=None, inherit=False,
                      with_dups=False, with_owners=True, with_blocked=True):
    """{package_id: entry} for a tag (its own entries first, then inherited ones).

    Entries: package_id, package_name, tag_id, tag_name, extra_arches, blocked
    (and owner_id, owner_name).  With with_dups each value is the list of all
    entries found through inheritance.
    """
    if tagID is None and userID is None and pkgID is None:
        raise koji.GenericError('tag,user, and/or pkg must be specified')
    if userID is not None and not with_owners:
        raise koji.GenericError("userID and with_owners=False can't be used together")
    packages = {}
    for row in _package_rows(hub, tagID, userID, pkgID, event, with_owners, with_blocked):
        if with_dups:
            packages.setdefault(row['package_id'], []).append(row)
        else:
            packages[row['package_id']] = row
    if tagID is None or not inherit:
        return packages
    cache = {}
    for link in tags.read_full_inheritance(hub, tagID):
        patterns = []
        for pattern in link['filter']:
            if pattern not in cache:
                cache[pattern] = re.compile(pattern)
            patterns.append(cache[pattern])
        for row in _package_rows(hub, link['parent_id'], userID, pkgID, event, with_owners,
                                 with_blocked):
            pkg_id = row['package_id']
            if not with_dups and pkg_id in packages:
                continue
            if any(prog.match(row['package_name']) is None for prog in patterns):
                continue
            if with_dups:
                packages.setdefault(pkg_id, []).append(row)
            else:
                packages[pkg_id] = row
    return packages


def list_packages(hub, tagID=None, userID=None, pkgID=None, prefix=None, inherited=False,
                  with_dups=False, event=None, queryOpts=None, with_owners=True,
                  with_blocked=True):
    if tagID is None and userID is None and pkgID is None:
        return list_packages_simple(hub, prefix, queryOpts)
    if tagID is not None:
        tagID = tags.get_tag_id(hub, tagID, strict=True)
    if userID is not None:
        userID = users.get_user(hub, userID, strict=True)['id']
    if pkgID is not None:
        pkgID = names.get_package_id(hub, pkgID, strict=True)
    found = read_package_list(hub, tagID=tagID, userID=userID, pkgID=pkgID, inherit=inherited,
                              with_dups=with_dups, event=event, with_owners=with_owners,
                              with_blocked=with_blocked)
    if with_dups:
        results = [entry for entries in found.values() for entry in entries]
    else:
        results = list(found.values())
    if prefix:
        prefix = prefix.lower()
        results = [p for p in results if p['package_name'].lower().startswith(prefix)]
    return apply_query_opts(results, queryOpts)


def list_packages_simple(hub, prefix=None, queryOpts=None):
    rows = hub.db.query('SELECT id AS package_id, name AS package_name FROM package '
                        'ORDER BY id')
    if prefix:
        rows = [r for r in rows if r['package_name'].lower().startswith(prefix.lower())]
    return apply_query_opts(rows, queryOpts)


def get_package_config(hub, tag, pkg, event=None):
    tag_id = tags.get_tag_id(hub, tag, strict=False)
    pkg_id = names.get_package_id(hub, pkg, strict=False)
    if pkg_id is None or tag_id is None:
        return None
    return read_package_list(hub, tagID=tag_id, pkgID=pkg_id, inherit=True,
                             event=event).get(pkg_id)


def check_tag_package(hub, tag, pkg):
    tag_id = tags.get_tag_id(hub, tag, strict=False)
    pkg_id = names.get_package_id(hub, pkg, strict=False)
    if pkg_id is None or tag_id is None:
        return False
    pkgs = read_package_list(hub, tagID=tag_id, pkgID=pkg_id, inherit=True, with_owners=False)
    return pkg_id in pkgs and not pkgs[pkg_id]['blocked']


# -- changing -------------------------------------------------------------------------

def _remove_entry(hub, tag_id, pkg_id):
    versioned.revoke(hub, 'tag_packages', 'package_id = ? AND tag_id = ?', (pkg_id, tag_id))


def _set_owner(hub, tag_id, pkg_id, owner):
    versioned.revoke(hub, 'tag_package_owners', 'package_id = ? AND tag_id = ?',
                     (pkg_id, tag_id))
    versioned.create(hub, 'tag_package_owners', tag_id=tag_id, package_id=pkg_id, owner=owner)


def _add_entry(hub, tag_id, pkg_id, owner, block, extra_arches):
    _remove_entry(hub, tag_id, pkg_id)
    if extra_arches is not None:
        extra_arches = koji.parse_arches(extra_arches, strict=True, allow_none=True)
    versioned.create(hub, 'tag_packages', tag_id=tag_id, package_id=pkg_id,
                     blocked=1 if block else 0, extra_arches=extra_arches)
    _set_owner(hub, tag_id, pkg_id, owner)


def pkglist_add(hub, taginfo, pkginfo, owner=None, block=None, extra_arches=None, force=False,
                update=False, policy=True):
    """packageListAdd: add or update a package's entry in a tag's list."""
    tag = tags.get_tag(hub, taginfo, strict=True)
    pkg = names.lookup_package(hub, pkginfo, strict=False)
    if not pkg and not isinstance(pkginfo, str):
        raise koji.GenericError('No such package: %s' % pkginfo)
    if owner is not None:
        owner = users.get_user(hub, owner, strict=True)['id']
    action = 'update' if update else ('block' if block else 'add')
    if policy:
        context.session().assertLogin()
        assert_package_list_policy(tag['id'], action, pkginfo, force)
    if not pkg:
        pkg = names.lookup_package(hub, pkginfo, create=True)
    if extra_arches is not None:
        extra_arches = koji.parse_arches(extra_arches, strict=True, allow_none=True)
    previous = read_package_list(hub, tag['id'], pkgID=pkg['id'], inherit=True).get(pkg['id'])
    changed = changed_owner = False
    if previous is None:
        block = bool(block)
        if update and not force:
            raise koji.GenericError('cannot update: tag %s has no data for package %s'
                                    % (tag['name'], pkg['name']))
    else:
        if owner is None:
            owner = previous['owner_id']
        changed_owner = previous['owner_id'] != owner
        block = previous['blocked'] if block is None else bool(block)
        if extra_arches is None:
            extra_arches = previous['extra_arches']
        changed = previous['blocked'] != block or previous['extra_arches'] != extra_arches
        if not changed and not changed_owner and not force:
            return None
        if previous['blocked'] and not block and not force:
            raise koji.GenericError('package %s is blocked in tag %s'
                                    % (pkg['name'], tag['name']))
    if owner is None:
        if force:
            owner = context.session().user_id
        else:
            raise koji.GenericError('owner not specified')
    if not previous or changed:
        _add_entry(hub, tag['id'], pkg['id'], owner, block, extra_arches)
    elif changed_owner:
        _set_owner(hub, tag['id'], pkg['id'], owner)
    return None


def pkglist_remove(hub, taginfo, pkginfo, force=False):
    tag = tags.get_tag(hub, taginfo, strict=True)
    pkg = names.lookup_package(hub, pkginfo, strict=True)
    context.session().assertLogin()
    assert_package_list_policy(tag['id'], 'remove', pkginfo, force)
    _remove_entry(hub, tag['id'], pkg['id'])


def pkglist_block(hub, taginfo, pkginfo, force=False):
    tag = tags.get_tag(hub, taginfo, strict=True)
    pkg = names.lookup_package(hub, pkginfo, strict=True)
    if not read_package_list(hub, tag['id'], pkgID=pkg['id'], inherit=True, with_owners=False):
        raise koji.GenericError('Package %s is not in tag listing for %s'
                                % (pkg['name'], tag['name']))
    pkglist_add(hub, taginfo, pkginfo, block=True, force=force)


def pkglist_unblock(hub, taginfo, pkginfo, force=False):
    tag = tags.get_tag(hub, taginfo, strict=True)
    pkg = names.lookup_package(hub, pkginfo, strict=True)
    context.session().assertLogin()
    assert_package_list_policy(tag['id'], 'unblock', pkginfo, force)
    tag_id, pkg_id = tag['id'], pkg['id']
    previous = read_package_list(hub, tag_id, pkgID=pkg_id, inherit=True).get(pkg_id)
    if previous is None:
        raise koji.GenericError('no data (blocked or otherwise) for package %s in tag %s'
                                % (pkg['name'], tag['name']))
    if not previous['blocked']:
        raise koji.GenericError('package %s NOT blocked in tag %s' % (pkg['name'], tag['name']))
    if previous['tag_id'] != tag_id:
        _add_entry(hub, tag_id, pkg_id, previous['owner_id'], False, previous['extra_arches'])
    else:
        _remove_entry(hub, tag_id, pkg_id)
        now = read_package_list(hub, tag_id, pkgID=pkg_id, inherit=True)
        if pkg_id not in now or now[pkg_id]['blocked']:
            _add_entry(hub, tag_id, pkg_id, previous['owner_id'], False,
                       previous['extra_arches'])
