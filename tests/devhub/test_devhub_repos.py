"""Tags and inheritance, targets, repos (repoInit/repoDone) and buildroots."""

import json
import os
import urllib.request

import koji
import pytest

from devhub_helpers import response, unique

BR = koji.BR_STATES


def test_seeded_repo_layout(devhub):
    tag = unique('f40-build')
    repo = devhub.make_tag_with_repo(tag, ['x86_64', 'aarch64'])
    assert repo['state'] == koji.REPO_READY and repo['tag_name'] == tag
    session = devhub.admin_session()
    assert session.getRepo(tag)['id'] == repo['id']
    repodir = os.path.join(devhub.topdir, 'repos', tag, str(repo['id']))
    with open(os.path.join(repodir, 'repo.json')) as fo:
        info = json.load(fo)
    assert info['id'] == repo['id'] and info['tag'] == tag
    assert os.path.exists(os.path.join(repodir, 'groups', 'comps.xml'))
    for arch in ('x86_64', 'aarch64'):
        archdir = os.path.join(repodir, arch)
        assert os.path.realpath(os.path.join(archdir, 'toplink')) == \
            os.path.realpath(devhub.topdir)
        for name in ('pkglist', 'rpmlist.jsonl', 'blocklist', 'repodata/repomd.xml'):
            assert os.path.exists(os.path.join(archdir, name)), name
    url = '%s/repos/%s/%d/x86_64/repodata/repomd.xml' % (devhub.topurl, tag, repo['id'])
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert b'<repomd' in resp.read()
    # build config as kojid reads it for the buildroot
    config = session.getBuildConfig(tag, event=repo['create_event'])
    assert config['arches'] == 'x86_64 aarch64'
    assert session.getExternalRepoList(tag, event=repo['create_event']) == []


def test_repo_init_and_done_by_host(devhub, make_builder, tmp_path):
    tag = unique('repotag')
    old = devhub.make_tag_with_repo(tag, ['x86_64'])
    builder = make_builder()
    task_id = devhub.make_task('newRepo', [tag], channel='createrepo')
    devhub.admin_session().addHostToChannel(builder.name, 'createrepo')
    builder.take(task_id)
    host = builder.session.host
    repo_id, event_id = host.repoInit(tag, task_id=task_id)
    info = devhub.admin_session().repoInfo(repo_id)
    assert info['state'] == koji.REPO_INIT and info['create_event'] == event_id
    assert info['task_id'] == task_id
    uploadpath = koji.pathinfo.taskrelpath(task_id)
    (tmp_path / 'repomd.xml').write_text('<repomd/>')
    (tmp_path / 'primary.xml.gz').write_bytes(b'\x1f\x8b fake')
    for name in ('repomd.xml', 'primary.xml.gz'):
        builder.session.uploadWrapper(str(tmp_path / name), uploadpath)
    with pytest.raises(koji.GenericError, match='uploaded file missing'):
        host.repoDone(repo_id, {'x86_64': [uploadpath, ['nope.xml']]})
    with pytest.raises(koji.GenericError, match='Invalid upload filename'):
        host.repoDone(repo_id, {'x86_64': [uploadpath, ['../../../devhub.sqlite']]})
    host.repoDone(repo_id, {'x86_64': [uploadpath, ['repomd.xml', 'primary.xml.gz']]})
    repodata = os.path.join(devhub.topdir, 'repos', tag, str(repo_id), 'x86_64', 'repodata')
    assert sorted(os.listdir(repodata)) == ['primary.xml.gz', 'repomd.xml']
    session = devhub.admin_session()
    assert session.repoInfo(repo_id)['state'] == koji.REPO_READY
    assert session.repoInfo(old['id'])['state'] == koji.REPO_EXPIRED
    assert session.getRepo(tag)['id'] == repo_id
    assert os.readlink(os.path.join(devhub.topdir, 'repos', tag, 'latest')) == str(repo_id)
    with pytest.raises(koji.GenericError, match='not in INIT state'):
        host.repoDone(repo_id, {})
    host.closeTask(task_id, response([repo_id, event_id]))


def test_tag_inheritance_and_build_config(devhub):
    session = devhub.admin_session()
    base, mid, child = unique('base'), unique('mid'), unique('child')
    session.createTag(base, arches='x86_64 aarch64',
                      extra={'mock.package_manager': 'dnf', 'rpm.macro.dist': '.base'})
    session.createTag(mid, parent=base, extra={'rpm.macro.dist': '.mid'})
    session.createTag(child)
    session.setInheritanceData(child, [{'parent_id': session.getTag(mid)['id'], 'priority': 0,
                                        'maxdepth': None, 'intransitive': False,
                                        'noconfig': False, 'pkg_filter': ''}])
    assert [link['name'] for link in session.getInheritanceData(child)] == [mid]
    assert [link['name'] for link in session.getFullInheritance(child)] == [mid, base]
    config = session.getBuildConfig(child)
    assert config['arches'] == 'x86_64 aarch64'
    assert config['extra'] == {'mock.package_manager': 'dnf', 'rpm.macro.dist': '.mid'}
    assert config['config_inheritance']['arches']['name'] == base
    session.editTag2(child, arches='x86_64', extra={'rpm.env.FOO': 'bar'})
    session.editTag2(mid, remove_extra=['rpm.macro.dist'])
    config = session.getBuildConfig(child)
    assert config['arches'] == 'x86_64'
    assert config['extra']['rpm.macro.dist'] == '.base'
    assert config['extra']['rpm.env.FOO'] == 'bar'
    assert session.getTag(child)['extra'] == {'rpm.env.FOO': 'bar'}
    with pytest.raises(koji.GenericError, match='same priority'):
        session.setInheritanceData(child, [{'parent_id': session.getTag(base)['id'],
                                            'priority': 0, 'maxdepth': None,
                                            'intransitive': False, 'noconfig': False,
                                            'pkg_filter': ''}])
    session.createBuildTarget(unique('target'), child, base)
    targets = session.getBuildTargets(buildTagID=child)
    assert len(targets) == 1 and targets[0]['dest_tag_name'] == base
    assert session.getBuildTarget(targets[0]['name'])['build_tag_name'] == child
    with pytest.raises(koji.GenericError, match='already exists'):
        session.createTag(child)
    devhub.add_user('tagless', 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='tag permission required'):
        devhub.session('tagless', 'pw').createTag(unique('nope'))


def test_buildroot_states_and_lists(devhub, make_builder):
    tag = unique('brtag')
    repo = devhub.make_tag_with_repo(tag, ['x86_64'])
    builder = make_builder()
    task_id = devhub.make_task('buildArch', ['pkg.src.rpm', tag, 'x86_64', True, {}],
                               arch='x86_64')
    builder.take(task_id)
    host = builder.session.host
    br_id = host.newBuildRoot(repo['id'], 'x86_64', task_id=task_id)
    session = devhub.admin_session()
    info = session.getBuildroot(br_id)
    assert info['state'] == BR['INIT'] and info['host_id'] == builder.id
    assert info['repo_id'] == repo['id'] and info['tag_name'] == tag
    assert info['task_id'] == task_id and info['arch'] == 'x86_64'
    rpm = {'name': 'bash', 'version': '5.2', 'release': '1.fc40', 'epoch': None,
           'arch': 'x86_64', 'payloadhash': 'abc', 'size': 100, 'buildtime': 1,
           'location': 'fedora'}
    host.setBuildRootList(br_id, [rpm], task_id)
    host.setBuildRootState(br_id, 'BUILDING', task_id)
    with pytest.raises(koji.GenericError, match='wrong state'):
        host.setBuildRootList(br_id, [rpm])
    host.updateBuildRootList(br_id, [rpm, dict(rpm, name='gcc')], task_id)
    names = [r['name'] for r in session.getBuildrootListing(br_id)]
    assert names == ['bash', 'gcc']
    active = session.listBuildroots(hostID=builder.id, state=(0, 1, 2))
    assert [b['id'] for b in active] == [br_id]
    assert session.listBuildroots(taskID=task_id)[0]['id'] == br_id
    host.setBuildRootState(br_id, BR['EXPIRED'])
    host.setBuildRootState(br_id, 'EXPIRED')  # quietly accepted again
    with pytest.raises(koji.GenericError, match='EXPIRED'):
        host.setBuildRootState(br_id, 'BUILDING')
    with pytest.raises(koji.GenericError, match='INIT'):
        host.setBuildRootState(br_id, 'INIT')
    assert session.listBuildroots(hostID=builder.id, state=[0, 1, 2]) == []
    assert session.getBuildroot(br_id)['retire_event_id'] is not None
    other = make_builder(ready=False)
    with pytest.raises(koji.ActionNotAllowed, match='not owner of buildroot'):
        other.session.host.setBuildRootState(br_id, 'EXPIRED')
