"""Packages, builds, tagging, comps groups and repos with real content.

The rpms are built here with rpmbuild (a tiny package with an x86_64 rpm and
a noarch subpackage) and go through the real ``koji`` CLI where it has a
command: add-tag, add-target, add-pkg, add-group, add-group-pkg, import,
call tagBuildBypass, list-tagged, list-groups, regen-repo, wait-repo.
"""

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import koji
import pytest

from devhub_helpers import build_rpms, response, run_koji, unique
from koji_adjutant_devhub import seed
from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot
from ansible_collections.koji_adjutant.builder.plugins.modules import koji_upload

RS = koji.REPO_STATES


@pytest.fixture(scope='module')
def rpms(tmp_path_factory):
    """Two releases of devhub-hello and one of devhub-other."""
    workdir = str(tmp_path_factory.mktemp('rpms'))
    return {
        'hello1': build_rpms(workdir, 'devhub-hello', release='1'),
        'hello2': build_rpms(workdir, 'devhub-hello', release='2'),
        'other': build_rpms(workdir, 'devhub-other', version='2.5', release='3'),
    }


def _lines(path):
    with open(path) as fo:
        return fo.read().splitlines()


def _createrepo_and_upload(builder, task_id, archdir, comps, workdir):
    """What a createrepo task does: createrepo_c over pkglist, upload repodata."""
    datadir = seed.run_createrepo(archdir, str(workdir), comps)
    uploadpath = koji.pathinfo.taskrelpath(task_id)
    files = sorted(os.listdir(datadir))
    for name in files:
        builder.session.uploadWrapper(os.path.join(datadir, name), uploadpath)
    return [uploadpath, files]


def test_cli_content_and_newrepo_flow(devhub, make_builder, rpms, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    tag, target = unique('ctag'), unique('ctarget')
    session = devhub.admin_session()
    run_koji(devhub, config, 'add-tag', tag, '--arches', 'x86_64 aarch64')
    run_koji(devhub, config, 'add-target', target, tag, tag)
    old_repo = devhub.make_repo(tag)
    out = run_koji(devhub, config, 'add-pkg', '--owner', 'kojiadmin', tag, 'devhub-hello')
    assert 'Adding 1 packages' in out
    run_koji(devhub, config, 'add-group', tag, 'build')
    run_koji(devhub, config, 'add-group-pkg', tag, 'build', 'devhub-hello', 'bash')
    files = [rpms[rel][kind] for rel in ('hello1', 'hello2') for kind in ('src', 'x86_64',
                                                                          'noarch')]
    out = run_koji(devhub, config, 'import', *files)
    assert out.count('done') >= len(files)
    build1 = session.getBuild('devhub-hello-1.0-1', strict=True)
    assert build1['state'] == koji.BUILD_STATES['COMPLETE'] and build1['volume_name'] == 'DEFAULT'
    out = run_koji(devhub, config, 'import', files[0])
    assert 'already imported' in out
    # files went to packages/N/V/R/<arch>/
    pathinfo = koji.PathInfo(topdir=devhub.topdir)
    for rpm in session.listBuildRPMs(build1['id']):
        assert os.path.isfile(os.path.join(pathinfo.build(build1), pathinfo.rpm(rpm)))
    run_koji(devhub, config, 'call', 'tagBuildBypass', tag, 'devhub-hello-1.0-1')
    run_koji(devhub, config, 'call', 'tagBuildBypass', tag, 'devhub-hello-1.0-2')
    out = run_koji(devhub, config, 'list-tagged', '--quiet', tag)
    assert 'devhub-hello-1.0-1' in out and 'devhub-hello-1.0-2' in out
    out = run_koji(devhub, config, 'list-tagged', '--quiet', '--latest', tag)
    assert 'devhub-hello-1.0-2' in out and 'devhub-hello-1.0-1' not in out
    out = run_koji(devhub, config, 'list-tagged', '--quiet', '--latest', '--rpms', tag)
    assert sorted(out.split()) == ['devhub-hello-1.0-2.src', 'devhub-hello-1.0-2.x86_64',
                                   'devhub-hello-data-1.0-2.noarch']
    out = run_koji(devhub, config, 'buildinfo', 'devhub-hello-1.0-2')
    assert 'BUILD: devhub-hello-1.0-2' in out and 'State: COMPLETE' in out and tag in out
    assert '/packages/devhub-hello/1.0/2/x86_64/devhub-hello-1.0-2.x86_64.rpm' in out
    out = run_koji(devhub, config, 'rpminfo', 'devhub-hello-data-1.0-2.noarch')
    assert 'RPM: devhub-hello-data-1.0-2.noarch' in out and 'License: MIT' in out
    out = run_koji(devhub, config, 'list-groups', tag)
    assert 'build  [%s]' % tag in out and 'devhub-hello' in out and 'bash' in out

    # regen-repo on a 1.35 hub is a repo request for a current repo; the hub (as kojira)
    # turns it into a newRepo task in the createrepo channel
    out = run_koji(devhub, config, 'regen-repo', '--nowait', tag)
    assert 'Got request:' in out, out
    req_id = int(out.split('Got request:')[1].split()[0])
    req = session.repo.checkRequest(req_id)['request']
    assert req['active'] and req['repo_id'] is None and req['task_id']
    assert req['min_event'] == session.tagLastChangeEvent(tag)
    task = session.getTaskInfo(req['task_id'], request=True)
    assert task['method'] == 'newRepo' and task['arch'] == 'noarch'
    assert task['priority'] == 15 and task['owner'] == session.getUser('kojira')['id']
    assert session.getChannel(task['channel_id'])['name'] == 'createrepo'
    taginfo = session.getTag(tag)
    assert task['request'] == [{'id': taginfo['id'], 'name': tag},
                               {'opts': {}, '__starstar': True}]

    # a builder in the createrepo channel runs it the way kojid's newRepo does
    builder = make_builder()
    session.addHostToChannel(builder.name, 'createrepo')
    builder.take(task['id'])
    host = builder.session.host
    repo_id, event_id = host.repoInit(taginfo['id'], task_id=task['id'], opts={})
    repodir = os.path.join(devhub.topdir, 'repos', tag, str(repo_id))
    assert sorted(os.listdir(repodir)) == ['aarch64', 'groups', 'repo.json', 'x86_64']
    with open(os.path.join(repodir, 'repo.json')) as fo:
        info = json.load(fo)
    assert info['id'] == repo_id and info['event_id'] == event_id and info['task_id'] == task['id']
    assert info['opts'] == {'src': False, 'debuginfo': False, 'separate_src': False,
                            'maven': False} and info['custom_opts'] == {}
    expected = {
        'x86_64': ['toplink/packages/devhub-hello/1.0/2/x86_64/devhub-hello-1.0-2.x86_64.rpm',
                   'toplink/packages/devhub-hello/1.0/2/noarch/'
                   'devhub-hello-data-1.0-2.noarch.rpm'],
        'aarch64': ['toplink/packages/devhub-hello/1.0/2/noarch/'
                    'devhub-hello-data-1.0-2.noarch.rpm'],
    }
    latest_rpms = dict((r['id'], r) for r in
                       session.listTaggedRPMS(tag, latest=True, arch=['x86_64', 'noarch'])[0])
    for arch, paths in expected.items():
        archdir = os.path.join(repodir, arch)
        assert sorted(os.listdir(archdir)) == ['blocklist', 'pkglist', 'rpmlist.jsonl',
                                               'toplink']
        assert sorted(_lines(os.path.join(archdir, 'pkglist'))) == sorted(paths)
        for path in paths:
            assert os.path.isfile(os.path.join(archdir, path))
        entries = [json.loads(line) for line in _lines(os.path.join(archdir, 'rpmlist.jsonl'))]
        assert len(entries) == len(paths)
        for entry in entries:
            assert entry == latest_rpms[entry['id']]
            assert session.getRPM(entry['id'])['name'] == entry['name']
        assert _lines(os.path.join(archdir, 'blocklist')) == []
    comps = os.path.join(repodir, 'groups', 'comps.xml')
    root = ET.parse(comps).getroot()
    group = [g for g in root.findall('group') if g.find('id').text == 'build'][0]
    assert sorted(p.text for p in group.find('packagelist')) == ['bash', 'devhub-hello']

    # one createrepo subtask per arch dir: channel inherited, arch noarch, label = arch
    children = {}
    for arch in ('aarch64', 'x86_64'):
        children[arch] = host.subtask('createrepo', [repo_id, arch, None], task['id'],
                                      label=arch, arch='noarch')
    host.taskSetWait(task['id'], list(children.values()))
    for arch, child_id in children.items():
        child = session.getTaskInfo(child_id)
        assert child['arch'] == 'noarch' and child['label'] == arch
        assert child['channel_id'] == task['channel_id'] and child['parent'] == task['id']
        builder.ready()
        builder.take(child_id)
        result = _createrepo_and_upload(builder, child_id, os.path.join(repodir, arch), comps,
                                        tmp_path / arch)
        host.closeTask(child_id, response(result))
    finished, unfinished = host.taskWait(task['id'])
    assert sorted(finished) == sorted(children.values()) and unfinished == []
    results = dict(host.taskWaitResults(task['id'], list(children.values())))
    data = dict((arch, results[child_id]) for arch, child_id in children.items())
    assert session.repo.checkRequest(req_id)['repo'] is None
    host.repoDone(repo_id, data)
    host.closeTask(task['id'], response([repo_id, event_id]))

    repo = session.repoInfo(repo_id)
    assert repo['state'] == RS['READY'] and repo['task_id'] == task['id']
    assert repo['create_event'] == event_id and repo['tag_name'] == tag
    assert repo['task_state'] == koji.TASK_STATES['CLOSED']
    assert session.repoInfo(old_repo['id'])['state'] == RS['EXPIRED']
    assert session.getRepo(tag)['id'] == repo_id
    assert os.readlink(os.path.join(devhub.topdir, 'repos', tag, 'latest')) == str(repo_id)
    check = session.repo.checkRequest(req_id)
    assert check['repo']['id'] == repo_id
    assert not check['request']['active'] and check['request']['repo_id'] == repo_id
    assert os.path.exists(os.path.join(repodir, 'x86_64', 'repodata', 'repomd.xml'))
    # the CLI now finds the current repo
    out = run_koji(devhub, config, 'regen-repo', '--nowait', tag)
    assert 'Got repo %d' % repo_id in out
    out = run_koji(devhub, config, 'wait-repo', '--request', '--timeout', '1', tag)
    assert 'Got repo %d' % repo_id in out


def test_repo_is_usable_by_dnf(devhub, rpms, tmp_path):
    """The repo's metadata and comps are what dnf expects (group 'build' resolves)."""
    if not os.path.exists('/usr/bin/dnf'):
        pytest.skip('dnf not installed')
    tag = unique('dnftag')
    session = devhub.admin_session()
    session.createTag(tag, arches='x86_64')
    devhub.import_rpms(list(rpms['other'].values()), tag=tag)
    devhub.add_group(tag, 'build', ['devhub-other', 'devhub-other-data'])
    repo = devhub.make_repo(tag)
    # over HTTP, as a builder without topdir sees it (packages through the toplink symlink)
    baseurl = '%s/repos/%s/%d/x86_64' % (devhub.topurl, tag, repo['id'])
    dnf = ['dnf', '-q', '--releasever=1', '--disablerepo=*', '--setopt=reposdir=/dev/null',
           '--repofrompath=koji,%s' % baseurl, '--enablerepo=koji', '--setopt=koji.gpgcheck=0',
           '--installroot', str(tmp_path / 'root'), '--setopt=cachedir=%s' % (tmp_path / 'cache')]
    proc = subprocess.run(dnf + ['group', 'info', 'build'], stdout=subprocess.PIPE, check=False,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert 'devhub-other' in proc.stdout and 'devhub-other-data' in proc.stdout
    proc = subprocess.run(dnf + ['install', '-y', '--downloadonly',
                                 '--downloaddir', str(tmp_path / 'dl'), 'devhub-other-data'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert os.listdir(str(tmp_path / 'dl')) == ['devhub-other-data-2.5-3.noarch.rpm']


def test_package_lists_inheritance_and_blocks(devhub, rpms):
    session = devhub.admin_session()
    parent, child = unique('ptag'), unique('chtag')
    session.createTag(parent, arches='x86_64')
    session.createTag(child, parent=parent, arches='x86_64')
    builds = devhub.import_rpms(list(rpms['other'].values()))
    other = builds[0]
    assert other['nvr'] == 'devhub-other-2.5-3'
    # not in the package list: no tagging through tagBuild
    with pytest.raises(koji.TagError, match='not in list'):
        session.tagBuild(parent, other['id'])
    session.packageListAdd(parent, 'devhub-other', 'kojiadmin', extra_arches='ppc64le')
    session.tagBuildBypass(parent, other['id'])
    with pytest.raises(koji.TagError, match='already tagged'):
        session.tagBuildBypass(parent, other['id'])
    config = session.getPackageConfig(child, 'devhub-other')
    assert config['tag_name'] == parent and config['owner_name'] == 'kojiadmin'
    assert config['extra_arches'] == 'ppc64le' and config['blocked'] is False
    assert session.getPackageConfig(child, 'no-such-package') is None
    assert [p['package_name'] for p in session.listPackages(tagID=child)] == []
    assert [p['package_name'] for p in session.listPackages(tagID=child, inherited=True)] == \
        ['devhub-other']
    tagged = session.listTagged(child, inherit=True)
    assert [(b['nvr'], b['tag_name']) for b in tagged] == [('devhub-other-2.5-3', parent)]
    assert session.getLatestBuilds(child)[0]['id'] == other['id']
    rpm_list, build_list = session.getLatestRPMS(child, arch='noarch')
    assert [r['name'] for r in rpm_list] == ['devhub-other-data']
    assert build_list[0]['id'] == other['id']
    event = session.getLastEvent()['id']
    # blocking in the child hides the builds there, not in the parent
    session.packageListBlock(child, 'devhub-other')
    assert session.getPackageConfig(child, 'devhub-other')['blocked'] is True
    assert session.listTagged(child, inherit=True) == []
    assert len(session.listTagged(parent)) == 1
    assert len(session.listTagged(child, inherit=True, event=event)) == 1
    repo = devhub.make_repo(child)
    repodir = os.path.join(devhub.topdir, 'repos', child, str(repo['id']), 'x86_64')
    assert _lines(os.path.join(repodir, 'blocklist')) == ['devhub-other']
    assert _lines(os.path.join(repodir, 'pkglist')) == []
    session.packageListUnblock(child, 'devhub-other')
    assert len(session.listTagged(child, inherit=True)) == 1
    # the package_list policy: admin or tag permission
    user = unique('plain')
    devhub.add_user(user, 'pw')
    plain = devhub.session(user, 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='policy violation'):
        plain.packageListAdd(parent, 'devhub-new', user)
    with pytest.raises(koji.ActionNotAllowed, match='tag permission required'):
        plain.tagBuildBypass(parent, other['id'])
    with pytest.raises(koji.GenericError, match='owner not specified'):
        session.packageListAdd(parent, 'devhub-new')
    # untagging, and tagBuild makes a tagBuild task
    session.untagBuildBypass(parent, other['id'])
    with pytest.raises(koji.TagError, match='not in tag'):
        session.untagBuildBypass(parent, other['id'])
    history = session.queryHistory(tag=parent, build=other['id'])
    assert sorted(history) == ['tag_listing']
    assert [(h['name'], h['active'], h['creator_name'], h['revoker_name'])
            for h in history['tag_listing']] == [('devhub-other', None, 'kojiadmin', 'kojiadmin')]
    task_id = session.tagBuild(parent, other['nvr'])
    info = devhub.task_info(task_id, request=True)
    assert info['method'] == 'tagBuild' and info['priority'] == 10
    assert info['request'] == [session.getTag(parent)['id'], other['id'], False, None]
    assert parent not in [t['name'] for t in session.listTags(build=other['id'])]
    listed = dict((t['name'], t) for t in session.listTags(package='devhub-other'))
    assert listed[parent]['owner_name'] == 'kojiadmin' and listed[parent]['blocked'] is False
    assert child not in listed  # unblocking removed the child's own (blocking) entry


def test_builds_and_rpms_lookups(devhub, rpms):
    session = devhub.admin_session()
    build = session.getBuild('devhub-other-2.5-3')
    if build is None:
        build = devhub.import_rpms(list(rpms['other'].values()))[0]
    assert session.getBuild({'name': 'devhub-other', 'version': '2.5', 'release': '3'})['id'] \
        == build['id']
    assert session.getBuild(build['id'])['nvr'] == 'devhub-other-2.5-3'
    assert session.getBuild('devhub-other-9-9') is None
    with pytest.raises(koji.GenericError, match='No such build'):
        session.getBuild('devhub-other-9-9', strict=True)
    with pytest.raises(koji.GenericError, match='invalid format'):
        session.getBuild('nodashes')
    build_rpms = session.listBuildRPMs('devhub-other-2.5-3')
    assert sorted(r['arch'] for r in build_rpms) == ['noarch', 'src', 'x86_64']
    rpm = [r for r in build_rpms if r['arch'] == 'x86_64'][0]
    assert session.getRPM('devhub-other-2.5-3.x86_64')['id'] == rpm['id']
    assert session.getRPM({'name': 'devhub-other', 'version': '2.5', 'release': '3',
                           'arch': 'x86_64'})['id'] == rpm['id']
    by_id = session.getRPM(rpm['id'])
    assert by_id['build_id'] == build['id'] and by_id['external_repo_id'] == 0
    assert len(by_id['payloadhash']) == 32 and by_id['size'] > 0
    assert session.getRPM('nope-1-1.x86_64') is None
    with pytest.raises(koji.GenericError, match='No such rpm'):
        session.getRPM('nope-1-1.x86_64', strict=True)
    assert [r['arch'] for r in session.listRPMs(buildID=build['id'], arches='src')] == ['src']
    assert build['id'] in [b['id'] for b in session.listBuilds(packageID='devhub-other')]
    assert session.listBuilds(packageID='no-such-package') == []


def test_buildroot_lists_match_known_rpms(devhub, make_builder, rpms):
    session = devhub.admin_session()
    tag = unique('brctag')
    session.createTag(tag, arches='x86_64')
    if session.getBuild('devhub-other-2.5-3') is None:
        devhub.import_rpms(list(rpms['other'].values()))
    repo = devhub.make_tag_with_repo(tag, ['x86_64'])
    builder = make_builder()
    task_id = devhub.make_task('buildArch', ['pkg.src.rpm', tag, 'x86_64', True, {}],
                               arch='x86_64')
    builder.take(task_id)
    host = builder.session.host
    br_id = host.newBuildRoot(repo['id'], 'x86_64', task_id=task_id)
    known = session.getRPM('devhub-other-2.5-3.x86_64')
    entry = dict((k, known[k]) for k in ('name', 'version', 'release', 'epoch', 'arch',
                                         'payloadhash', 'size', 'buildtime'))
    with pytest.raises(koji.GenericError, match='No such rpm'):
        host.setBuildRootList(br_id, [dict(entry, name='not-in-koji')], task_id)
    # what the worker sends: its look-ups (one multicall) keep the hub from refusing the list
    known_entries, unknown = buildroot.attach_koji_ids(
        builder.session, [entry, dict(entry, name='not-in-koji')])
    assert [e['id'] for e in known_entries] == [known['id']]
    assert [e['name'] for e in unknown] == ['not-in-koji']
    host.setBuildRootList(br_id, known_entries, task_id)
    listing = session.getBuildrootListing(br_id)
    assert listing[0]['rpm_id'] == known['id'] and listing[0]['build_id'] == known['build_id']
    assert [r['id'] for r in session.listRPMs(componentBuildrootID=br_id)] == [known['id']]
    assert session.listBuildroots(rpmID=known['id'])[0]['id'] == br_id


def test_worker_expires_buildroots_before_closing(devhub, make_builder):
    """koji_upload expire_buildroots: the task's buildroot is EXPIRED before closeTask, an
    expired one is left alone, and one the hub refuses is named in the problem."""
    session = devhub.admin_session()
    tag = unique('exptag')
    session.createTag(tag, arches='x86_64')
    repo = devhub.make_tag_with_repo(tag, ['x86_64'])
    builder, other = make_builder(), make_builder()
    task_id = devhub.make_task('buildArch', ['pkg.src.rpm', tag, 'x86_64', True, {}],
                               arch='x86_64')
    builder.take(task_id)
    br_id = builder.session.host.newBuildRoot(repo['id'], 'x86_64', task_id=task_id)
    foreign = other.session.host.newBuildRoot(repo['id'], 'x86_64')
    expired, problem = koji_upload.expire_buildroots(builder.session, [br_id, foreign, 99999999])
    assert expired == [br_id]
    assert session.getBuildroot(br_id)['state'] == koji.BR_STATES['EXPIRED']
    assert session.getBuildroot(foreign)['state'] == koji.BR_STATES['INIT']
    assert 'could not expire buildroot %s' % foreign in problem
    assert 'could not expire buildroot 99999999' in problem
    # again: nothing to do, no error from the hub
    assert koji_upload.expire_buildroots(builder.session, [br_id]) == ([], None)
    builder.session.host.closeTask(task_id, response(None))


def test_groups_inheritance_and_blocks(devhub):
    session = devhub.admin_session()
    parent, child = unique('gparent'), unique('gchild')
    session.createTag(parent)
    session.createTag(child, parent=parent)
    session.groupListAdd(parent, 'build', display_name='Buildsys')
    session.groupPackageListAdd(parent, 'build', 'gcc')
    session.groupPackageListAdd(parent, 'build', 'make', type='default')
    session.groupListAdd(parent, 'srpm-build')
    session.groupReqListAdd(parent, 'build', 'srpm-build')
    groups = dict((g['name'], g) for g in session.getTagGroups(child))
    assert sorted(groups) == ['build', 'srpm-build']
    build = groups['build']
    assert build['tag_id'] == session.getTag(parent)['id']
    assert build['display_name'] == 'Buildsys' and build['blocked'] is False
    assert sorted((p['package'], p['type']) for p in build['packagelist']) == \
        [('gcc', 'mandatory'), ('make', 'default')]
    assert [r['name'] for r in build['grouplist']] == ['srpm-build']
    assert session.getTagGroups(child, inherit=False) == []
    session.groupPackageListBlock(child, 'build', 'gcc')
    pkgs = [p['package'] for p in dict((g['name'], g) for g in
                                       session.getTagGroups(child))['build']['packagelist']]
    assert pkgs == ['make']
    blocked = dict((g['name'], g) for g in session.getTagGroups(child, incl_blocked=True))
    assert sorted(p['package'] for p in blocked['build']['packagelist']) == ['gcc', 'make']
    session.groupListBlock(child, 'srpm-build')
    assert [g['name'] for g in session.getTagGroups(child)] == ['build']
    with pytest.raises(koji.GenericError, match='is blocked'):
        session.groupPackageListAdd(child, 'srpm-build', 'rpm-build')
    with pytest.raises(koji.GenericError, match='No such entry in table groups'):
        session.groupPackageListAdd(child, 'nosuchgroup', 'x')
    lonely = unique('gnone')
    session.createTag(lonely)
    with pytest.raises(koji.GenericError, match='group build not present in tag'):
        session.groupPackageListAdd(lonely, 'build', 'x')
    session.groupListUnblock(child, 'srpm-build')
    session.groupPackageListRemove(parent, 'build', 'make')
    groups = dict((g['name'], g) for g in session.getTagGroups(parent))
    assert [p['package'] for p in groups['build']['packagelist']] == ['gcc']
    with pytest.raises(koji.GenericError, match='No group'):
        session.groupListRemove(child, 'build')
    session.groupListRemove(parent, 'srpm-build')
    assert 'srpm-build' not in [g['name'] for g in session.getTagGroups(parent)]
    user = unique('nogroups')
    devhub.add_user(user, 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='tag permission required'):
        devhub.session(user, 'pw').groupListAdd(parent, 'x')


def test_repo_requests(devhub, make_builder, rpms):
    session = devhub.admin_session()
    tag = unique('reqtag')
    session.createTag(tag, arches='x86_64')
    repo = devhub.make_repo(tag)
    # a current repo answers the request at once
    check = session.repo.request(tag, min_event='last')
    assert check['repo']['id'] == repo['id'] and check['request'] is None
    assert session.repo.get(tag)['id'] == repo['id']
    assert session.repo.get(tag, opts={'debuginfo': True}) is None
    # after a change it is a new request; the same request again is a duplicate
    devhub.import_rpms(list(rpms['hello1'].values()), tag=tag)
    last = session.tagLastChangeEvent(tag)
    assert last > repo['create_event']
    first = session.repo.request(tag, min_event='last')
    assert first['repo'] is None and not first['duplicate']
    req = first['request']
    assert req['min_event'] == last and req['tag_name'] == tag and req['opts'] == {}
    assert req['task_id'] is None and req['active'] and req['tries'] == 0
    again = session.repo.request(tag, min_event=last)
    assert again['duplicate'] and again['request']['id'] == req['id']
    # the repo is no longer current: its end event is the first change after it
    first_change = session.tagFirstChangeEvent(tag, after=repo['create_event'])
    assert repo['end_event'] is None
    assert session.repoInfo(repo['id'])['end_event'] == first_change <= last
    assert repo['begin_event'] <= repo['create_event']
    # the hub made a newRepo task for it; a failed task is retried with a new one
    req = session.repo.checkRequest(req['id'])['request']
    assert req['task_id'] and req['tries'] == 1
    queued = session.repo.queryQueue([['id', '=', req['id']]], fields=['task_id', 'tries'])
    assert queued == [{'task_id': req['task_id'], 'tries': 1}]
    builder = make_builder()
    session.addHostToChannel(builder.name, 'createrepo')
    builder.take(req['task_id'])
    builder.session.host.failTask(req['task_id'], response_fault())
    retried = session.repo.checkRequest(req['id'])
    assert retried['request']['tries'] == 2 and retried['request']['task_id'] != req['task_id']
    assert retried['task']['method'] == 'newRepo'
    session.cancelTask(retried['request']['task_id'])
    # a repo made meanwhile (here: without a task) fulfils it
    new = devhub.make_repo(tag)
    done = session.repo.checkRequest(req['id'])
    assert done['repo']['id'] == new['id'] and not done['request']['active']
    # custom options and at_event
    custom = session.repo.request(tag, opts={'debuginfo': True})
    assert custom['request']['opts'] == {'debuginfo': True}
    at = session.repo.request(tag, at_event=repo['create_event'])
    # (the repo made at that event is EXPIRED: a new one is needed)
    assert at['repo'] is None and at['request']['at_event'] == repo['create_event']
    assert at['request']['min_event'] is None
    with pytest.raises(koji.ParameterError, match='conflict'):
        session.repo.request(tag, min_event=1, at_event=1)
    with pytest.raises(koji.ParameterError, match='Invalid repo option'):
        session.repo.request(tag, opts={'bogus': True})
    assert [r['id'] for r in session.repo.query([['tag_id', '=', new['tag_id']],
                                                 ['state', '=', RS['READY']]])] == [new['id']]
    with pytest.raises(koji.ParameterError):
        session.repo.query([['nosuchfield', '=', 1]])
    with pytest.raises(koji.GenericError, match='No such request'):
        session.repo.checkRequest(999999)
    # the legacy newRepo call
    task_id = session.newRepo(tag, debuginfo=True)
    info = devhub.task_info(task_id, request=True)
    assert info['request'] == [tag, {'debuginfo': True, '__starstar': True}]
    assert session.getChannel(info['channel_id'])['name'] == 'createrepo'
    user = unique('norepo')
    devhub.add_user(user, 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='repo permission required'):
        devhub.session(user, 'pw').newRepo(tag)


def response_fault():
    return koji.xmlrpcplus.dumps(koji.xmlrpcplus.Fault(koji.GenericError.faultCode, 'failed'))
