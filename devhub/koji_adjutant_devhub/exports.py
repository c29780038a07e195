"""The XML-RPC API of the dev hub: every callable method, by name.

:class:`RootExports` holds the plain calls, :class:`HostExports` the
``host.*`` calls (each starts with kojihub's ``Host.verify()`` check: the
caller must be a build host with an exclusive session, or a subsession of
it).  :class:`HandlerRegistry` maps XML-RPC names to bound methods and
answers the introspection calls.  Signatures, permission checks and return
shapes follow kojihub; method bodies delegate to the domain modules.
"""

import base64
import fnmatch
import inspect
import os
import time

import koji

from . import auth
from . import buildroots
from . import builds
from . import cancel
from . import context
from . import distrepos
from . import groups
from . import hosts
from . import names
from . import notifications
from . import packages
from . import policy
from . import repoqueue
from . import repos
from . import rpmbuilds
from . import runroot
from . import scheduler
from . import signatures
from . import tagging
from . import tags
from . import tasks
from . import uploads
from . import users
from .config import API_VERSION, KOJI_VERSION
from .hosts import Host
from .hub import format_ts
from .query import apply_query_opts
from .tasks import Task, task_set_wait, task_unwait, task_wait, task_wait_results


def _build_task_opts(sess, priority, channel):
    """makeTask options of a build or chainbuild task, as kojihub sets them: the priority
    relative to the default (a negative one, higher, for admins only) and the channel."""
    task_opts = {}
    if priority:
        if priority < 0 and not sess.hasPerm('admin'):
            raise koji.ActionNotAllowed('only admins may create high-priority tasks')
        task_opts['priority'] = koji.PRIO_DEFAULT + priority
    if channel:
        task_opts['channel'] = channel
    return task_opts


def _session():
    return context.session()


class RootExports(object):
    """Calls available to every client."""

    def __init__(self, hub):
        self.hub = hub

    # -- misc ---------------------------------------------------------------------

    def hello(self, *args):
        """Simple testing call returning a string"""
        return 'Hello World'

    def echo(self, *args):
        return args

    def getKojiVersion(self):
        return KOJI_VERSION

    def getAPIVersion(self):
        return API_VERSION

    def mavenEnabled(self):
        return False

    def winEnabled(self):
        return False

    def showSession(self):
        return '%s' % _session()

    def getLastEvent(self, before=None, strict=True):
        """id and ts of the latest event (before a timestamp, if given)."""
        if before is not None:
            if not isinstance(before, (int, float)) or isinstance(before, bool):
                raise koji.GenericError('Invalid type for before: %s' % type(before))
            row = self.hub.db.one('SELECT id, ts FROM events WHERE ts < ? '
                                  'ORDER BY id DESC LIMIT 1', (before,))
        else:
            row = self.hub.db.last_event()
        if row is None and strict:
            raise koji.GenericError('No event found')
        return row

    def getEvent(self, id, strict=True):
        row = self.hub.db.one('SELECT id, ts FROM events WHERE id = ?', (id,))
        if row is None and strict:
            raise koji.GenericError('No such event: %s' % id)
        return row

    # -- sessions -----------------------------------------------------------------

    def login(self, user, password, opts=None, renew=False, exclusive=False):
        return auth.login(self.hub, user, password, opts, renew, exclusive)

    def sslLogin(self, proxyuser=None, proxyauthtype=None, renew=False, exclusive=None):
        return auth.ssl_login(self.hub, proxyuser, proxyauthtype, renew, exclusive)

    def logout(self, session_id=None):
        return auth.logout(self.hub, session_id)

    def logoutChild(self, session_id):
        return auth.logout_child(self.hub, session_id)

    def subsession(self):
        return auth.subsession(self.hub)

    def exclusiveSession(self, force=False):
        return auth.exclusive_session(self.hub, force)

    def sharedSession(self):
        return auth.shared_session(self.hub)

    # -- users and permissions ------------------------------------------------------

    def getLoggedInUser(self):
        sess = _session()
        if not sess.logged_in:
            return None
        me = users.get_user(self.hub, sess.user_id)
        me['authtype'] = sess.authtype
        me['krb_principal'] = me['krb_principals'][0] if me['krb_principals'] else None
        return me

    def getUser(self, userInfo=None, strict=False, krb_princs=True, groups=False):
        return users.get_user(self.hub, userInfo, strict, krb_princs, groups)

    def listUsers(self, userType=koji.USERTYPES['NORMAL'], prefix=None, queryOpts=None):
        return apply_query_opts(users.list_users(self.hub, userType, prefix), queryOpts)

    def createUser(self, username, status=None, krb_principal=None):
        _session().assertPerm('admin')
        user_id = users.create_user(self.hub, username, status=status,
                                    krb_principal=krb_principal)
        context.state_changed()
        return user_id

    def enableUser(self, username):
        _session().assertPerm('admin')
        users.set_user_status(self.hub, username, koji.USER_STATUS['NORMAL'])

    def disableUser(self, username):
        _session().assertPerm('admin')
        users.set_user_status(self.hub, username, koji.USER_STATUS['BLOCKED'])

    def grantPermission(self, userinfo, permission, create=False, description=None):
        _session().assertPerm('admin')
        users.grant_permission(self.hub, userinfo, permission, create, description)

    def revokePermission(self, userinfo, permission):
        _session().assertPerm('admin')
        users.revoke_permission(self.hub, userinfo, permission)

    def getPerms(self):
        return _session().getPerms()

    def getUserPerms(self, userID=None, with_groups=True):
        user = users.get_user(self.hub, userID, strict=True)
        return users.get_user_perms(self.hub, user['id'])

    def hasPerm(self, perm, strict=False):
        if strict and not users.lookup_perm(self.hub, perm):
            raise koji.GenericError('No such permission %s defined' % perm)
        return _session().hasPerm(perm)

    def getAllPerms(self):
        return self.hub.db.query('SELECT id, name, description FROM permissions ORDER BY id')

    # -- hosts and channels -----------------------------------------------------------

    def addHost(self, hostname, arches, krb_principal=None, force=False):
        """Add a build host (and its host user, in channel 'default'); returns its id."""
        _session().assertPerm('host')
        return hosts.add_host(self.hub, hostname, arches, krb_principal, force)

    def editHost(self, hostInfo, **kw):
        _session().assertPerm('host')
        return hosts.edit_host(self.hub, hostInfo, **kw)

    def enableHost(self, hostname):
        _session().assertPerm('host')
        hosts.set_host_enabled(self.hub, hostname, True)

    def disableHost(self, hostname):
        _session().assertPerm('host')
        hosts.set_host_enabled(self.hub, hostname, False)

    def getHost(self, hostInfo, strict=False, event=None):
        return hosts.get_host(self.hub, hostInfo, strict, event)

    def listHosts(self, arches=None, channelID=None, ready=None, enabled=None, userID=None,
                  queryOpts=None):
        return apply_query_opts(hosts.list_hosts(self.hub, arches, channelID, ready, enabled,
                                                 userID), queryOpts)

    def getLastHostUpdate(self, hostID, ts=False):
        """When the host last called host.updateHost (None if never)."""
        host = hosts.get_host(self.hub, hostID, strict=True)
        if host['update_ts'] is None or ts:
            return host['update_ts']
        return format_ts(host['update_ts'])

    def getAllArches(self):
        arches = set()
        for host in hosts.list_hosts(self.hub):
            arches.update(koji.canonArch(a) for a in host['arches'].split())
        return sorted(arches)

    def addChannel(self, channel_name, description=None):
        _session().assertPerm('admin')
        return hosts.add_channel(self.hub, channel_name, description)

    def getChannel(self, channelInfo, strict=False):
        return hosts.get_channel(self.hub, channelInfo, strict)

    def listChannels(self, hostID=None, event=None, enabled=None):
        return hosts.list_channels(self.hub, hostID, event, enabled)

    def addHostToChannel(self, hostname, channel_name, create=False, force=False):
        _session().assertPerm('host')
        return hosts.add_host_to_channel(self.hub, hostname, channel_name, create, force)

    def removeHostFromChannel(self, hostname, channel_name):
        _session().assertPerm('host')
        return hosts.remove_host_from_channel(self.hub, hostname, channel_name)

    # -- tags and targets ---------------------------------------------------------------

    def createTag(self, name, parent=None, arches=None, perm=None, locked=False,
                  maven_support=False, maven_include_all=False, extra=None):
        _session().assertPerm('tag')
        return tags.create_tag(self.hub, name, parent, arches, perm, locked, maven_support,
                               maven_include_all, extra)

    def editTag2(self, tagInfo, **kwargs):
        _session().assertPerm('tag')
        tags.edit_tag(self.hub, tagInfo, **kwargs)

    def getTag(self, tagInfo, strict=False, event=None, blocked=False):
        return tags.get_tag(self.hub, tagInfo, strict, event, blocked)

    def getTagID(self, info, strict=False, create=False):
        return tags.get_tag_id(self.hub, info, strict)

    def listTags(self, build=None, package=None, perms=True, queryOpts=None, pattern=None):
        if build is not None and package is not None:
            raise koji.GenericError('only one of build and package may be specified')
        result = []
        fields = ('id', 'name', 'arches', 'locked', 'maven_support', 'maven_include_all')
        if perms:
            fields += ('perm_id', 'perm')
        if build is not None or package is not None:
            tag_ids = tagging.list_tags_of(self.hub, build=build, package=package)
        else:
            tag_ids = self.hub.db.column('SELECT id FROM tags ORDER BY id')
        pkg_id = names.get_package_id(self.hub, package) if package is not None else None
        for tag_id in tag_ids:
            info = tags.get_tag(self.hub, tag_id)
            entry = dict((key, info[key]) for key in fields)
            if pkg_id is not None:
                listed = packages.read_package_list(self.hub, tag_id, pkgID=pkg_id).get(pkg_id)
                for key in ('owner_id', 'owner_name', 'blocked', 'extra_arches'):
                    entry[key] = listed[key] if listed else None
            result.append(entry)
        if pattern:
            result = [t for t in result if fnmatch.fnmatch(t['name'].lower(), pattern.lower())]
        return apply_query_opts(result, queryOpts)

    def getBuildConfig(self, tag, event=None):
        return tags.get_build_config(self.hub, tag, event)

    def getInheritanceData(self, tag, event=None):
        return tags.read_inheritance(self.hub, tags.get_tag(self.hub, tag, strict=True)['id'])

    def setInheritanceData(self, tag, data, clear=False):
        tag_id = tags.get_tag(self.hub, tag, strict=True)['id']
        _session().assertPerm('tag')
        tags.write_inheritance(self.hub, tag_id, data, clear)

    def getFullInheritance(self, tag, event=None, reverse=False):
        tag_id = tags.get_tag(self.hub, tag, strict=True)['id']
        return tags.read_full_inheritance(self.hub, tag_id, reverse)

    def createBuildTarget(self, name, build_tag, dest_tag):
        _session().assertPerm('target')
        tags.create_build_target(self.hub, name, build_tag, dest_tag)

    def editBuildTarget(self, buildTargetInfo, name, build_tag, dest_tag):
        _session().assertPerm('target')
        tags.edit_build_target(self.hub, buildTargetInfo, name, build_tag, dest_tag)

    def deleteBuildTarget(self, buildTargetInfo):
        _session().assertPerm('target')
        tags.delete_build_target(self.hub, buildTargetInfo)

    def getBuildTarget(self, info, event=None, strict=False):
        return tags.get_build_target(self.hub, info, event, strict)

    def getBuildTargets(self, info=None, event=None, buildTagID=None, destTagID=None,
                        queryOpts=None):
        return tags.get_build_targets(self.hub, info, event, buildTagID, destTagID, queryOpts)

    def getTagExternalRepos(self, tag_info=None, repo_info=None, event=None):
        """External repos of tags: the dev hub has none yet, so always []."""
        if tag_info is not None:
            tags.get_tag(self.hub, tag_info, strict=True)
        return []

    def getExternalRepoList(self, tag_info, event=None):
        """External repos of a tag and its parents (createrepo merges them): [] here."""
        tags.get_tag(self.hub, tag_info, strict=True)
        return []

    # -- packages and package lists --------------------------------------------------------

    def getPackage(self, info, strict=False, create=False):
        return names.lookup_package(self.hub, info, strict=strict, create=create)

    def getPackageID(self, name, strict=False):
        pkg_id = self.hub.db.value('SELECT id FROM package WHERE name = ?', (name,))
        if pkg_id is None and strict:
            raise koji.GenericError('No such package name: %s' % name)
        return pkg_id

    def listPackages(self, tagID=None, userID=None, pkgID=None, prefix=None, inherited=False,
                     with_dups=False, event=None, queryOpts=None, with_owners=True,
                     with_blocked=True):
        return packages.list_packages(self.hub, tagID, userID, pkgID, prefix, inherited,
                                      with_dups, event, queryOpts, with_owners, with_blocked)

    def listPackagesSimple(self, prefix=None, queryOpts=None):
        return packages.list_packages_simple(self.hub, prefix, queryOpts)

    def checkTagPackage(self, tag, pkg):
        return packages.check_tag_package(self.hub, tag, pkg)

    def getPackageConfig(self, tag, pkg, event=None):
        """A package's (inherited) entry in a tag's package list, or None."""
        return packages.get_package_config(self.hub, tag, pkg, event)

    def packageListAdd(self, taginfo, pkginfo, owner=None, block=None, extra_arches=None,
                       force=False, update=False):
        return packages.pkglist_add(self.hub, taginfo, pkginfo, owner, block, extra_arches,
                                    force, update)

    def packageListRemove(self, taginfo, pkginfo, force=False):
        return packages.pkglist_remove(self.hub, taginfo, pkginfo, force)

    def packageListBlock(self, taginfo, pkginfo, force=False):
        return packages.pkglist_block(self.hub, taginfo, pkginfo, force)

    def packageListUnblock(self, taginfo, pkginfo, force=False):
        return packages.pkglist_unblock(self.hub, taginfo, pkginfo, force)

    def packageListSetOwner(self, taginfo, pkginfo, owner, force=False):
        return packages.pkglist_add(self.hub, taginfo, pkginfo, owner=owner, force=force,
                                    update=True)

    def packageListSetArches(self, taginfo, pkginfo, arches, force=False):
        return packages.pkglist_add(self.hub, taginfo, pkginfo, extra_arches=arches,
                                    force=force, update=True)

    # -- comps groups ----------------------------------------------------------------------

    def groupListAdd(self, taginfo, grpinfo, block=False, force=False, **opts):
        return groups.grplist_add(self.hub, taginfo, grpinfo, block, force, **opts)

    def groupListRemove(self, taginfo, grpinfo, force=False):
        return groups.grplist_remove(self.hub, taginfo, grpinfo, force)

    def groupListBlock(self, taginfo, grpinfo):
        return groups.grplist_block(self.hub, taginfo, grpinfo)

    def groupListUnblock(self, taginfo, grpinfo):
        return groups.grplist_unblock(self.hub, taginfo, grpinfo)

    def groupPackageListAdd(self, taginfo, grpinfo, pkg_name, block=False, force=False, **opts):
        return groups.grp_pkg_add(self.hub, taginfo, grpinfo, pkg_name, block, force, **opts)

    def groupPackageListRemove(self, taginfo, grpinfo, pkg_name):
        return groups.grp_pkg_remove(self.hub, taginfo, grpinfo, pkg_name)

    def groupPackageListBlock(self, taginfo, grpinfo, pkg_name):
        return groups.grp_pkg_block(self.hub, taginfo, grpinfo, pkg_name)

    def groupPackageListUnblock(self, taginfo, grpinfo, pkg_name):
        return groups.grp_pkg_unblock(self.hub, taginfo, grpinfo, pkg_name)

    def groupReqListAdd(self, taginfo, grpinfo, reqinfo, block=False, force=False, **opts):
        return groups.grp_req_add(self.hub, taginfo, grpinfo, reqinfo, block, force, **opts)

    def groupReqListRemove(self, taginfo, grpinfo, reqinfo, force=None):
        return groups.grp_req_remove(self.hub, taginfo, grpinfo, reqinfo, force)

    def groupReqListBlock(self, taginfo, grpinfo, reqinfo):
        return groups.grp_req_block(self.hub, taginfo, grpinfo, reqinfo)

    def groupReqListUnblock(self, taginfo, grpinfo, reqinfo):
        return groups.grp_req_unblock(self.hub, taginfo, grpinfo, reqinfo)

    def getTagGroups(self, tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True,
                     incl_blocked=False):
        return groups.read_tag_groups(self.hub, tag, event, inherit, incl_pkgs, incl_reqs,
                                      incl_blocked)

    # -- builds and rpms -------------------------------------------------------------------

    def getAverageBuildDuration(self, package, age=None):
        """Average build time of a package's task-made builds; None without any."""
        pkg_id = names.get_package_id(self.hub, package)
        if not pkg_id:
            return None
        clauses = 'build.pkg_id = ? AND build.state = ? AND build.task_id IS NOT NULL'
        params = [pkg_id, koji.BUILD_STATES['COMPLETE']]
        if age is not None:
            clauses += ' AND build.completion_ts > ?'
            params.append(time.time() - int(age) * 30 * 86400)
        return self.hub.db.value('SELECT AVG(build.completion_ts - events.ts) FROM build JOIN '
                                 'events ON events.id = build.create_event WHERE ' + clauses,
                                 params)

    def getBuild(self, buildInfo, strict=False):
        return builds.get_build(self.hub, buildInfo, strict)

    def getBuildLogs(self, build):
        return rpmbuilds.get_build_logs(self.hub, build)

    def findBuildID(self, X, strict=False):
        return builds.find_build_id(self.hub, X, strict)

    def listBuilds(self, packageID=None, userID=None, taskID=None, prefix=None, state=None,
                   volumeID=None, source=None, createdBefore=None, createdAfter=None,
                   completeBefore=None, completeAfter=None, type=None, typeInfo=None,
                   queryOpts=None, pattern=None, cgID=None, draft=None):
        return builds.list_builds(self.hub, packageID, userID, taskID, prefix, state, volumeID,
                                  source, createdBefore, createdAfter, completeBefore,
                                  completeAfter, type, typeInfo, queryOpts, pattern, cgID, draft)

    def createEmptyBuild(self, name, version, release, epoch, owner=None, draft=False):
        _session().assertPerm('admin')
        return builds.create_empty_build(self.hub, name, version, release, epoch, owner, draft)

    def getRPM(self, rpminfo, strict=False, multi=False, build=None):
        return builds.get_rpm(self.hub, rpminfo, strict, multi, build)

    def listRPMs(self, buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None,
                 hostID=None, arches=None, queryOpts=None, draft=None):
        return builds.list_rpms(self.hub, buildID, buildrootID, imageID, componentBuildrootID,
                                hostID, arches, queryOpts, draft)

    def listBuildRPMs(self, build):
        if not isinstance(build, int) or isinstance(build, bool):
            build = builds.find_build_id(self.hub, build, strict=True)
        return builds.list_rpms(self.hub, buildID=build)

    def getBuildType(self, buildInfo, strict=False):
        binfo = builds.get_build(self.hub, buildInfo, strict=strict)
        if not binfo:
            return None
        if self.hub.db.value('SELECT COUNT(*) FROM rpminfo WHERE build_id = ?', (binfo['id'],)):
            return {'rpm': None}
        return {}

    def listArchives(self, buildID=None, buildrootID=None, componentBuildrootID=None,
                     hostID=None, type=None, filename=None, size=None, checksum=None,
                     checksum_type=None, typeInfo=None, queryOpts=None, imageID=None,
                     archiveID=None, strict=False):
        """The dev hub stores no archives: []."""
        if strict:
            raise koji.GenericError('No archives found.')
        return apply_query_opts([], queryOpts)

    def getMavenBuild(self, buildInfo, strict=False):
        """No Maven builds in the dev hub: None (GenericError when strict)."""
        build_id = builds.find_build_id(self.hub, buildInfo, strict=strict)
        if build_id and strict:
            raise koji.GenericError('no such maven build: %s' % buildInfo)
        return None

    def getWinBuild(self, buildInfo, strict=False):
        build_id = builds.find_build_id(self.hub, buildInfo, strict=strict)
        if build_id and strict:
            raise koji.GenericError('no such Windows build: %s' % buildInfo)
        return None

    def getImageBuild(self, buildInfo, strict=False):
        build_id = builds.find_build_id(self.hub, buildInfo, strict=strict)
        if build_id and strict:
            raise koji.GenericError('no such image build: %s' % buildInfo)
        return None

    def getChangelogEntries(self, buildID=None, taskID=None, filepath=None, author=None,
                            before=None, after=None, queryOpts=None, strict=False):
        """Changelog of a build's SRPM (or of an rpm in a task's output)."""
        return builds.changelog_entries(self.hub, buildID, taskID, filepath, author, before,
                                        after, queryOpts, strict)

    def getRPMHeaders(self, rpmID=None, taskID=None, filepath=None, headers=None,
                      strict=False):
        return builds.rpm_headers(self.hub, rpmID, taskID, filepath, headers, strict)

    def queryRPMSigs(self, rpm_id=None, sigkey=None, queryOpts=None):
        return builds.query_rpm_sigs(self.hub, rpm_id, sigkey, queryOpts)

    def addRPMSig(self, an_rpm, data, sigkey=None):
        """Store a signature header (base64) for an rpm (sign permission); the key id
        comes from the header unless given (what ``koji import-sig`` calls)."""
        _session().assertPerm('sign')
        try:
            sighdr = base64.b64decode(data)
        except Exception as e:
            raise koji.GenericError('Invalid signature header data: %s' % e)
        signatures.add_rpm_sig(self.hub, an_rpm, sighdr, sigkey=sigkey)
        context.state_changed()

    def writeSignedRPM(self, an_rpm, sigkey, force=False):
        """Write the signed copy of an rpm for a key it has a signature of (sign
        permission): packages/N/V/R/data/signed/<key>/<arch>/<file>."""
        _session().assertPerm('sign')
        return signatures.write_signed_rpm(self.hub, an_rpm, sigkey, force)

    def listVolumes(self):
        return [dict(v) for v in builds.VOLUMES]

    def getVolume(self, volume, strict=False):
        return builds.get_volume(volume, strict)

    def importRPM(self, path, basename, build=None, draft=False):
        """Import an uploaded rpm (admin): work/<path>/<basename> -> packages/N/V/R/<arch>/."""
        _session().assertPerm('admin')
        if build:
            if not draft:
                raise koji.ParameterError(
                    'Only support specifying build when importing a draft rpm')
            builds.get_build(self.hub, build, strict=True)
        if draft:
            raise koji.GenericError('draft builds are not supported by the dev hub')
        fn = os.path.join(uploads.safe_work_dir(self.hub, path), basename)
        uploads.check_file_name(basename)
        if not os.path.exists(fn):
            raise koji.GenericError('No such file: %s' % fn)
        rpminfo = builds.import_rpm(self.hub, fn)
        builds.import_rpm_file(self.hub, fn, rpminfo['build'], rpminfo)
        for tag_id in tagging.list_tags_of(self.hub, build=rpminfo['build_id']):
            tagging.set_tag_update(self.hub, tag_id, 'IMPORT')
        return rpminfo

    # -- tagging ----------------------------------------------------------------------------

    def tagBuildBypass(self, tag, build, force=False, notify=False):
        """Tag a build directly (tag permission; no task, no notification mail)."""
        _session().assertPerm('tag')
        tags.get_tag(self.hub, tag, strict=True)
        builds.get_build(self.hub, build, strict=True)
        tagging.tag_build(self.hub, tag, build, force=force)

    def untagBuildBypass(self, tag, build, strict=True, force=False, notify=False):
        _session().assertPerm('tag')
        tags.get_tag(self.hub, tag, strict=True)
        builds.get_build(self.hub, build, strict=True)
        tagging.untag_build(self.hub, tag, build, strict=strict, force=force)

    def untagBuild(self, tag, build, strict=True, force=False):
        _session().assertLogin()
        tags.get_tag(self.hub, tag, strict=True)
        builds.get_build(self.hub, build, strict=True)
        tagging.untag_build(self.hub, tag, build, strict=strict, force=force)

    def tagBuild(self, tag, build, force=False, fromtag=None):
        """Request tagging: checks, then a tagBuild task (its id is returned)."""
        return tagging.make_tag_build_task(self.hub, tag, build, force, fromtag)

    def moveBuild(self, tag1, tag2, build, force=False):
        return tagging.make_tag_build_task(self.hub, tag2, build, force, tag1)

    def moveAllBuilds(self, tag1, tag2, package, force=False):
        """Move every build of a package from tag1 to tag2, oldest first: a chain of
        dependantTask tasks (what ``koji move-build --all`` calls); returns their ids."""
        return tagging.move_all_builds(self.hub, tag1, tag2, package, force)

    def listTagged(self, tag, event=None, inherit=False, prefix=None, latest=False, package=None,
                   owner=None, type=None, strict=True, extra=False, draft=None):
        taginfo = tags.get_tag(self.hub, tag, strict=strict, event=event)
        if not taginfo:
            return []
        result = tagging.read_tagged_builds(self.hub, taginfo['id'], event, inherit=inherit,
                                            latest=latest, package=package, owner=owner,
                                            type=type, extra=extra, draft=draft)
        if prefix:
            result = [b for b in result if b['package_name'].lower().startswith(prefix.lower())]
        return result

    def listTaggedRPMS(self, tag, event=None, inherit=False, latest=False, package=None,
                       arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=True,
                       draft=None):
        taginfo = tags.get_tag(self.hub, tag, strict=strict, event=event)
        if not taginfo:
            return []
        return tagging.read_tagged_rpms(self.hub, taginfo['id'], event=event, inherit=inherit,
                                        latest=latest, package=package, arch=arch,
                                        rpmsigs=rpmsigs, owner=owner, type=type, extra=extra,
                                        draft=draft)

    def getLatestBuilds(self, tag, event=None, package=None, type=None, draft=None):
        tag_id = tags.get_tag_id(self.hub, tag, strict=True)
        return tagging.read_tagged_builds(self.hub, tag_id, event, inherit=True, latest=True,
                                          package=package, type=type, draft=draft)

    def getLatestRPMS(self, tag, package=None, arch=None, event=None, rpmsigs=False, type=None,
                      draft=None):
        tag_id = tags.get_tag_id(self.hub, tag, strict=True)
        return tagging.read_tagged_rpms(self.hub, tag_id, package=package, arch=arch,
                                        event=event, inherit=True, latest=True,
                                        rpmsigs=rpmsigs, type=type, draft=draft)

    def checkTagAccess(self, tag_id, user_id=None):
        return tagging.check_tag_access(self.hub, tag_id, user_id)

    def tagLastChangeEvent(self, tag, before=None, inherit=True):
        return tagging.tag_last_change_event(self.hub, tag, before, inherit)

    def tagFirstChangeEvent(self, tag, after=None, inherit=True):
        return tagging.tag_first_change_event(self.hub, tag, after, inherit)

    def queryHistory(self, tables=None, **kwargs):
        """History of tag listings, package lists and groups (other tables: [])."""
        return tagging.query_history(self.hub, tables, **kwargs)

    def tagChangedSinceEvent(self, event, taglist):
        return tagging.tag_changed_since_event(self.hub, event, taglist)

    # -- tasks ------------------------------------------------------------------------------

    def build(self, src, target, opts=None, priority=None, channel=None):
        """Create a build task [src, target, opts] (what ``koji build`` calls).

        As kojihub: any logged-in user; src must be a string (an SCM URL or an upload
        path under work/); the target and the build policies are checked by the
        builder, not here.  priority is relative to the default (negative: admins
        only); channel overrides the channel (default ``default``).
        """
        sess = _session()
        sess.assertLogin()
        if not opts:
            opts = {}
        if not isinstance(src, str):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (src, type(src), str))
        task_opts = _build_task_opts(sess, priority, channel)
        return tasks.make_task(self.hub, 'build', [src, target, opts], **task_opts)

    def chainBuild(self, srcs, target, opts=None, priority=None, channel=None):
        """Create a chainbuild task [srcs, target, opts] (what ``koji chain-build`` calls).

        srcs: a list of build levels, each a list of SCM URLs and N-V-Rs.  As kojihub:
        any logged-in user; srcs must be a list; nothing else is checked here (the
        target, the levels and the links are the builder's business).
        """
        sess = _session()
        sess.assertLogin()
        if not isinstance(srcs, list):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (srcs, type(srcs), list))
        if not opts:
            opts = {}
        task_opts = _build_task_opts(sess, priority, channel)
        return tasks.make_task(self.hub, 'chainbuild', [srcs, target, opts], **task_opts)

    def distRepo(self, tag, keys, **task_opts):
        """Create a dist repo of a tag for signing keys and its distRepo task (what
        ``koji dist-repo`` calls); returns the task id."""
        return distrepos.dist_repo(self.hub, tag, keys, task_opts)

    def makeTask(self, *args, **opts):
        """Create a task by hand (admin only), as make_task(method, arglist, **opts)."""
        _session().assertPerm('admin')
        if 'owner' in opts:
            raise koji.ActionNotAllowed('The owner option is not allowed here')
        return tasks.make_task(self.hub, *args, **opts)

    def evalPolicy(self, name, data):
        """The action a policy gives for data (no login needed, as kojihub; koji's
        SCM.assert_allowed_by_policy calls it for build_from_scm)."""
        return policy.evaluate(name, data)

    def getTaskInfo(self, task_id, request=False, strict=False):
        if isinstance(task_id, (list, tuple)):
            return [Task(self.hub, tid).get_info(strict, request) for tid in task_id]
        return Task(self.hub, task_id).get_info(strict, request)

    def getTaskRequest(self, taskId):
        return Task(self.hub, taskId).get_request()

    def getTaskResult(self, taskId, raise_fault=True):
        return Task(self.hub, taskId).get_result(raise_fault=raise_fault)

    def taskFinished(self, taskId):
        return Task(self.hub, taskId).is_finished()

    def getTaskChildren(self, task_id, request=False, strict=False):
        task = Task(self.hub, task_id)
        if strict:
            task.get_info(strict=True)
        return task.get_children(request=request)

    def getTaskDescendents(self, task_id, request=False):
        return tasks.get_task_descendents(self.hub, Task(self.hub, task_id), request)

    def listTasks(self, opts=None, queryOpts=None):
        return tasks.list_tasks(self.hub, opts, queryOpts)

    def _assert_can_cancel(self, task):
        if not task.verify_owner() and not task.verify_host():
            if not _session().hasPerm('admin'):
                raise koji.ActionNotAllowed('Cannot cancel task, not owner')

    def cancelTask(self, task_id, recurse=True):
        """Cancel a task (owner, the host running it, or admin); children too by default."""
        task = Task(self.hub, task_id)
        task.get_info(strict=True)
        self._assert_can_cancel(task)
        cancel.cancel_task(self.hub, task.id, recurse=recurse)

    def cancelTaskChildren(self, task_id):
        _session().assertLogin()
        task = Task(self.hub, task_id)
        task.get_info(strict=True)
        self._assert_can_cancel(task)
        cancel.cancel_children(self.hub, task.id)

    def cancelTaskFull(self, task_id, strict=True):
        _session().assertPerm('admin')
        cancel.cancel_full(self.hub, task_id, strict=strict)

    def resubmitTask(self, taskID):
        """Re-run a canceled or failed top-level task with the same arguments."""
        sess = _session()
        sess.assertLogin()
        task = Task(self.hub, taskID)
        if not (task.is_canceled() or task.is_failed()):
            raise koji.GenericError('only canceled or failed tasks may be resubmitted')
        info = task.get_info()
        if info['parent'] is not None:
            raise koji.GenericError('only top-level tasks may be resubmitted')
        if not (sess.user_id == info['owner'] or sess.hasPerm('admin')):
            raise koji.GenericError('only the task owner or an admin may resubmit a task')
        channel = hosts.get_channel(self.hub, info['channel_id'], strict=True)
        return tasks.make_task(self.hub, info['method'], task.get_request(), arch=info['arch'],
                               channel=channel['name'], priority=info['priority'])

    def assignTask(self, task_id, host, force=False):
        _session().assertPerm('admin')
        host_id = hosts.get_host(self.hub, host, strict=True)['id']
        return Task(self.hub, task_id).assign(host_id, force)

    def freeTask(self, task_id):
        _session().assertPerm('admin')
        Task(self.hub, task_id).free()

    def setTaskPriority(self, task_id, priority, recurse=True):
        _session().assertPerm('admin')
        task = Task(self.hub, task_id)
        if task.is_finished():
            raise koji.GenericError("Finished task's priority can't be updated")
        task.set_priority(priority, recurse=recurse)

    def getTaskRuns(self, taskID=None, hostID=None, active=None):
        return scheduler.get_task_runs(self.hub, taskID, hostID, active)

    def getTaskRefusals(self, taskID=None, hostID=None):
        return scheduler.get_task_refusals(self.hub, taskID, hostID)

    def listTaskOutput(self, taskID, stat=False, all_volumes=False, strict=False):
        return uploads.list_task_output(self.hub, taskID, stat, all_volumes, strict)

    def downloadTaskOutput(self, taskID, fileName, offset=0, size=-1, volume=None):
        return uploads.download_task_output(self.hub, taskID, fileName, offset, size, volume)

    # -- uploads ---------------------------------------------------------------------------

    def uploadFile(self, path, name, size, md5sum, offset, data, volume=None, checksum=None):
        return uploads.upload_file(self.hub, path, name, size, md5sum, offset, data, volume,
                                   checksum)

    def checkUpload(self, path, name, verify=None, tail=None, volume=None):
        return uploads.check_upload(self.hub, path, name, verify, tail, volume)

    # -- buildroots and repos ----------------------------------------------------------------

    def getBuildroot(self, buildrootID, strict=False):
        return buildroots.get_buildroot(self.hub, buildrootID, strict)

    def listBuildroots(self, hostID=None, tagID=None, state=None, rpmID=None, archiveID=None,
                       taskID=None, buildrootID=None, repoID=None, queryOpts=None):
        return buildroots.query_buildroots(self.hub, hostID, tagID, state, rpmID, archiveID,
                                           taskID, buildrootID, repoID, queryOpts)

    def getBuildrootListing(self, id):
        return buildroots.get_listing(self.hub, id)

    def repoInfo(self, repo_id, strict=False):
        return repos.repo_info(self.hub, repo_id, strict)

    def getRepo(self, tag, state=None, event=None, dist=False, min_event=None):
        return repos.get_repo(self.hub, tag, state, event, dist, min_event)

    def getActiveRepos(self):
        return repos.get_active_repos(self.hub)

    def restartHosts(self, priority=5, options=None):
        """A restartHosts task (host permission), as kojihub creates it."""
        _session().assertPerm('host')
        args = [] if options is None else [options]
        return tasks.make_task(self.hub, 'restartHosts', args, priority=priority)

    def newRepo(self, tag, event=None, src=False, debuginfo=False, separate_src=False):
        """Create a newRepo task (repo or regen-repo permission); returns its id."""
        return repoqueue.new_repo(self.hub, tag, event, src, debuginfo, separate_src)

    def repoExpire(self, repo_id):
        _session().assertPerm('repo')
        repos.repo_expire(self.hub, repo_id)

    def repoProblem(self, repo_id):
        _session().assertPerm('repo')
        repos.repo_problem(self.hub, repo_id)

    def repoDelete(self, repo_id):
        _session().assertPerm('repo')
        return repos.repo_delete(self.hub, repo_id)


class RepoExports(object):
    """The ``repo.*`` calls (koji >= 1.35 repo requests, kojihub/repos.py)."""

    def __init__(self, hub):
        self.hub = hub

    def request(self, tag, min_event=None, at_event=None, opts=None, priority=None,
                force=False):
        """Request a repo for a tag: {'repo', 'request', 'duplicate'}."""
        result = repoqueue.request_repo(self.hub, tag, min_event, at_event, opts, priority,
                                        force)
        if result['request'] and not result['duplicate']:
            # the dev hub plays kojira right away; the answer shows the request as it was
            # made, as kojihub's does
            repoqueue.process(self.hub)
        return result

    def get(self, tag, min_event=None, at_event=None, opts=None):
        return repos.get_best_repo(self.hub, tag, min_event, at_event, opts)

    def checkRequest(self, req_id):
        repoqueue.process(self.hub)
        return repoqueue.check_repo_request(self.hub, req_id)

    def setRequestPriority(self, req_id, priority):
        _session().assertPerm('admin')
        repoqueue.set_request_priority(self.hub, req_id, priority)

    def getExternalRepoData(self, erepo):
        raise koji.GenericError('No such entry in table external_repo: %s' % (erepo,))

    def references(self, repo_id):
        return repos.repo_references(self.hub, repo_id)

    def setState(self, repo_id, state):
        _session().assertPerm('repo')
        repos.repo_set_state(self.hub, repo_id, state)

    def query(self, clauses, fields=None, opts=None):
        return repos.query_repos(self.hub, clauses, fields, opts)

    def autoRequests(self):
        _session().assertPerm('repo')
        repoqueue.do_auto_requests(self.hub)

    def checkQueue(self):
        _session().assertPerm('repo')
        repoqueue.check_repo_queue(self.hub)

    def queryQueue(self, clauses=None, fields=None, opts=None):
        return repoqueue.query_queue(self.hub, clauses, fields, opts)

    def updateEndEvents(self):
        _session().assertPerm('repo')
        repoqueue.update_end_events(self.hub)


class HostExports(object):
    """The ``host.*`` calls of build hosts."""

    def __init__(self, hub):
        self.hub = hub

    def _host(self):
        host = Host(self.hub)
        host.verify()
        return host

    def _owned_task(self, host, task_id):
        task = Task(self.hub, task_id)
        task.assert_host(host.id)
        return task

    def getID(self):
        return self._host().id

    def updateHost(self, task_load, ready, data=None):
        """Report load and readiness (and, as koji >= 1.35, methods/maxjobs data)."""
        self._host().update(task_load, ready, data)

    def setHostData(self, hostdata):
        self._host().set_data(hostdata)

    def getHost(self):
        return hosts.get_host(self.hub, self._host().id)

    def isEnabled(self):
        return self._host().is_enabled()

    def getLoadData(self):
        host = self._host()
        info = hosts.get_host(self.hub, host.id)
        info['channels'] = [c['id'] for c in hosts.list_channels(self.hub, host.id)]
        return [[info], scheduler.tasks_for_host(self.hub, host.id)]

    def getTasks(self):
        """Tasks ASSIGNED to this host; runs the scheduler when there are none."""
        host = self._host()
        # what kojira would do meanwhile: newRepo tasks for repo requests
        repoqueue.process(self.hub)
        result = scheduler.tasks_for_host(self.hub, host.id)
        if not result:
            if scheduler.TaskScheduler(self.hub).run():
                result = scheduler.tasks_for_host(self.hub, host.id)
        return result

    def getHostTasks(self):
        return tasks.host_open_tasks(self.hub, self._host().id)

    def openTask(self, task_id):
        return Task(self.hub, task_id).open(self._host().id)

    def closeTask(self, task_id, response):
        self._owned_task(self._host(), task_id).close(response)

    def failTask(self, task_id, response):
        self._owned_task(self._host(), task_id).fail(response)

    def freeTasks(self, tasks):
        host = self._host()
        for task_id in tasks:
            task = Task(self.hub, task_id)
            if task.verify_host(host.id):
                task.free()

    def refuseTask(self, task_id, soft=True, msg=''):
        host = self._host()
        task = Task(self.hub, task_id)
        info = task.get_info(strict=True)
        if info['host_id'] != host.id:
            return None
        scheduler.set_refusal(self.hub, host.id, info['id'], soft=bool(soft), msg=str(msg),
                              by_host=True)
        task.free()
        return None

    def setTaskWeight(self, task_id, weight):
        self._owned_task(self._host(), task_id).set_weight(weight)

    def subtask(self, method, arglist, parent, **opts):
        """Create a child of an OPEN task of ours (same (parent, label) -> same child)."""
        host = self._host()
        self._owned_task(host, parent)
        opts['parent'] = parent
        if 'owner' in opts:
            raise koji.ActionNotAllowed('The owner option is not allowed here')
        if 'label' in opts:
            existing = self.hub.db.value('SELECT id FROM tasks WHERE parent = ? AND label = ?',
                                         (parent, opts['label']))
            if existing:
                return existing
        if 'kwargs' in opts:
            arglist = koji.encode_args(*arglist, **opts.pop('kwargs'))
        # like kojihub, options make_task does not know are ignored
        opts = dict((k, v) for k, v in opts.items() if k in tasks.MAKE_TASK_OPTS)
        return tasks.make_task(self.hub, method, arglist, **opts)

    def subtask2(self, __parent, __taskopts, __method, *args, **opts):
        """subtask with the child's keyword arguments encoded (koji.encode_args)."""
        args = koji.encode_args(*args, **opts)
        return self.subtask(__method, args, __parent, **__taskopts)

    def taskSetWait(self, parent, tasks):
        self._host()
        task_set_wait(self.hub, parent, tasks)

    def taskUnwait(self, parent):
        self._host()
        task_unwait(self.hub, parent)

    def taskWait(self, parent):
        self._host()
        return task_wait(self.hub, parent)

    def taskWaitResults(self, parent, tasks, canfail=None):
        self._host()
        return task_wait_results(self.hub, parent, tasks, canfail)

    # -- builds ----------------------------------------------------------------------------

    def initBuild(self, data):
        """A BUILDING build for the build task data['task_id'] (ours); returns its id."""
        host = self._host()
        if not isinstance(data, dict):
            raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                      % (data, type(data), dict))
        task = self._owned_task(host, data['task_id'])
        return rpmbuilds.init_build(self.hub, task, data)

    def completeBuild(self, task_id, build_id, srpm, rpms, brmap=None, logs=None):
        """Import the build's uploaded SRPM, rpms and logs; the build becomes COMPLETE."""
        self._owned_task(self._host(), task_id)
        return rpmbuilds.complete_build(self.hub, task_id, build_id, srpm, rpms, brmap, logs)

    def failBuild(self, task_id, build_id):
        """Mark a BUILDING build FAILED."""
        self._owned_task(self._host(), task_id)
        rpmbuilds.fail_build(self.hub, task_id, build_id)

    def moveBuildToScratch(self, task_id, srpm, rpms, logs=None):
        """Move a scratch build's files to scratch/<owner>/task_<task_id>/ (not imported)."""
        task = self._owned_task(self._host(), task_id)
        rpmbuilds.move_to_scratch(self.hub, task, srpm, rpms, logs)

    def tagBuild(self, task_id, tag, build, force=False, fromtag=None):
        """Tag (or, with fromtag, move) a build for a task, as the task's owner."""
        self._owned_task(self._host(), task_id)
        tagging.host_tag_build(self.hub, task_id, tag, build, force, fromtag)

    def tagNotification(self, is_successful, tag_id, from_id, build_id, user_id,
                        ignore_success=False, failure_msg=''):
        """Record a tagging result (and, if configured, make a tagNotification task)."""
        self._host()
        notifications.tag_notification(self.hub, is_successful, tag_id, from_id, build_id,
                                       user_id, ignore_success, failure_msg)

    def checkPolicy(self, name, data, default='deny', strict=False):
        self._host()
        return list(policy.check(name, data, default=default, strict=strict))

    def assertPolicy(self, name, data, default='deny'):
        self._host()
        policy.check(name, data, default=default, strict=True)

    def evalPolicy(self, name, data):
        """Evaluate a policy and return its action (kojihub's eval_policy)."""
        self._host()
        return policy.evaluate(name, data)

    def newBuildRoot(self, repo, arch, task_id=None, ctype='chroot'):
        host = self._host()
        if task_id is not None:
            self._owned_task(host, task_id)
        return buildroots.new_buildroot(self.hub, host.id, repo, arch, task_id, ctype)

    def _buildroot_checks(self, brootid, task_id):
        host = self._host()
        if task_id is not None:
            self._owned_task(host, task_id)
        row = buildroots.assert_host(self.hub, brootid, host.id)
        if task_id is not None:
            buildroots.assert_task(row, task_id)

    def setBuildRootState(self, brootid, state, task_id=None):
        self._buildroot_checks(brootid, task_id)
        return buildroots.set_state(self.hub, brootid, state)

    def setBuildRootList(self, brootid, rpmlist, task_id=None):
        self._buildroot_checks(brootid, task_id)
        return buildroots.set_list(self.hub, brootid, rpmlist)

    def updateBuildRootList(self, brootid, rpmlist, task_id=None):
        self._buildroot_checks(brootid, task_id)
        return buildroots.update_list(self.hub, brootid, rpmlist)

    def repoInit(self, tag, task_id=None, event=None, opts=None):
        self._host()
        return repos.repo_init(self.hub, tag, task_id=task_id, event=event, opts=opts)

    def repoDone(self, repo_id, data, expire=False, repo_json_updates=None):
        self._host()
        return repos.repo_done(self.hub, repo_id, data, expire, repo_json_updates)

    def distRepoMove(self, repo_id, uploadpath, arch):
        """Move one arch of a dist repo into place: the uploaded files its
        repo_manifest lists, and its kojipkgs rpms linked into Packages/."""
        self._host()
        return distrepos.dist_repo_move(self.hub, repo_id, uploadpath, arch)

    def writeSignedRPM(self, an_rpm, sigkey, force=False):
        """Write a signed copy (kojid's createdistrepo with write_signed_rpms).  As
        kojihub's host.writeSignedRPM, this one checks nothing about the caller."""
        return signatures.write_signed_rpm(self.hub, an_rpm, sigkey, force)


class RunrootExports(object):
    """The call koji's runroot hub plugin adds (registered unless ``--no-runroot``)."""

    def __init__(self, hub):
        self.hub = hub

    def runroot(self, tagInfo, arch, command, channel=None, **opts):
        """Create a runroot task (runroot permission): run command in a buildroot of
        the tag for arch (what ``koji runroot`` calls)."""
        return runroot.runroot(self.hub, tagInfo, arch, command, channel=channel, **opts)


class HandlerRegistry(object):
    """XML-RPC method names -> callables, plus the introspection calls."""

    def __init__(self, hub):
        self.funcs = {}
        self.register_instance(RootExports(hub))
        self.register_instance(HostExports(hub), prefix='host')
        self.register_instance(RepoExports(hub), prefix='repo')
        if hub.config.runroot_plugin:
            self.register_instance(RunrootExports(hub))
        self.funcs['_listapi'] = self.list_api
        self.funcs['system.listMethods'] = self.system_listMethods
        self.funcs['system.methodSignature'] = self.system_methodSignature
        self.funcs['system.methodHelp'] = self.system_methodHelp

    def register_instance(self, instance, prefix=None):
        for name in dir(instance):
            if name.startswith('_'):
                continue
            func = getattr(instance, name)
            if not callable(func):
                continue
            self.funcs['%s.%s' % (prefix, name) if prefix else name] = func

    def get(self, name):
        func = self.funcs.get(name)
        if func is None:
            raise koji.GenericError('Invalid method: %s' % name)
        return func

    @staticmethod
    def _argspec(func):
        spec = inspect.getfullargspec(func)
        args = list(spec.args)
        if inspect.ismethod(func) and args:
            del args[0]
        return (args, spec.varargs, spec.varkw, spec.defaults, spec.kwonlyargs,
                spec.kwonlydefaults, {})

    def list_api(self):
        """List available API calls"""
        result = []
        for name, func in sorted(self.funcs.items()):
            sig = inspect.signature(func)
            args = []
            for pname, param in sig.parameters.items():
                if param.default is not param.empty:
                    args.append([pname, param.default])
                else:
                    args.append(pname)
            result.append({
                'name': name,
                'doc': func.__doc__,
                'argspec': self._argspec(func),
                'argdesc': '(%s)' % ', '.join(str(p) for p in sig.parameters.values()),
                'args': args,
            })
        return result

    def system_listMethods(self):
        return sorted(self.funcs)

    def system_methodSignature(self, method):
        return 'signatures not supported'

    def system_methodHelp(self, method):
        func = self.funcs.get(method)
        if func is None:
            return ''
        sig = inspect.signature(func)
        text = '%s(%s)' % (method, ', '.join(str(p) for p in sig.parameters.values()))
        if func.__doc__:
            text += '\ndescription: %s' % func.__doc__
        return text
