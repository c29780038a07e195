"""Builds made by tasks: ``koji build``, the host build calls, tagging, policies.

The test plays kojid's part with a host session (``Builder``): it takes the
``build`` task, calls ``host.initBuild``, makes buildArch subtasks with
buildroots, uploads rpms built here with rpmbuild (an x86_64 rpm, a noarch
subpackage and the SRPM) and imports them with ``host.completeBuild``; every
import rule is tried with a file that breaks it first.
"""

import json
import os
import re

import koji
import koji.daemon
import koji.rpmdiff
import pytest

from devhub_helpers import Builder, build_rpms, response, run_koji, unique
from koji_adjutant_devhub.testing import DevHub

BS = koji.BUILD_STATES
PKG = 'devhub-bhello'
URL = 'git+https://git.example.com/rpms/devhub-bhello.git#0123456789abcdef'


@pytest.fixture(scope='module')
def rpms(tmp_path_factory):
    workdir = tmp_path_factory.mktemp('build-rpms')
    return {
        'hello': build_rpms(str(workdir / 'a'), PKG),
        'variant': build_rpms(str(workdir / 'b'), PKG, variant=True),
        'other': build_rpms(str(workdir / 'c'), 'devhub-bother'),
    }


@pytest.fixture(scope='module')
def target(devhub):
    """A build tag with a READY repo, a destination tag listing PKG, a target, a user."""
    session = devhub.admin_session()
    names = {'build_tag': unique('bbuild'), 'dest_tag': unique('bdest'),
             'target': unique('btarget'), 'user': unique('builduser')}
    repo = devhub.make_tag_with_repo(names['build_tag'], ['x86_64', 'aarch64'])
    session.createTag(names['dest_tag'], arches='x86_64 aarch64')
    session.createBuildTarget(names['target'], names['build_tag'], names['dest_tag'])
    devhub.add_user(names['user'], 'pw')
    session.packageListAdd(names['dest_tag'], PKG, names['user'])
    names.update(repo_id=repo['id'], user_id=session.getUser(names['user'])['id'],
                 dest_id=session.getTag(names['dest_tag'])['id'])
    return names


def _upload(builder, task_id, path, name=None):
    """Upload a file to the task's directory as kojid does; returns its work/ path."""
    relpath = koji.pathinfo.taskrelpath(task_id)
    builder.session.uploadWrapper(path, relpath, name=name)
    return '%s/%s' % (relpath, name or os.path.basename(path))


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_koji_build_cli_makes_build_tasks(devhub, target, rpms, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    user = dict(user=target['user'], password='pw')
    out = run_koji(devhub, config, 'build', '--nowait', target['target'], rpms['hello']['src'],
                   **user)
    task_id = int(re.search(r'Created task: (\d+)', out).group(1))
    info = devhub.task_info(task_id, request=True)
    assert info['method'] == 'build' and info['arch'] == 'noarch' and info['parent'] is None
    assert info['owner'] == target['user_id'] and info['priority'] == koji.PRIO_DEFAULT
    assert session.getChannel(info['channel_id'])['name'] == 'default'
    src, target_name, opts = info['request']
    # the CLI uploaded the SRPM to cli-build/<time>.<random>/ and passes that path
    assert re.match(r'cli-build/[0-9.]+\.\w+/%s-1\.0-1\.src\.rpm$' % PKG, src), src
    assert os.path.isfile(os.path.join(devhub.topdir, 'work', src))
    assert target_name == target['target']
    assert opts == {'wait_builds': [], 'custom_user_metadata': {}}

    out = run_koji(devhub, config, 'build', '--nowait', '--scratch', '--background',
                   target['target'], rpms['hello']['src'], **user)
    info = devhub.task_info(int(re.search(r'Created task: (\d+)', out).group(1)), request=True)
    assert info['request'][2]['scratch'] is True and info['priority'] == koji.PRIO_DEFAULT + 5

    out = run_koji(devhub, config, 'build', '--nowait', target['target'], URL, **user)
    info = devhub.task_info(int(re.search(r'Created task: (\d+)', out).group(1)), request=True)
    assert info['request'][:2] == [URL, target['target']]

    # the call itself: kojihub's priority and channel rules, no target check
    plain = devhub.session(target['user'], 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='only admins may create high-priority'):
        plain.build(URL, target['target'], priority=-1)
    with pytest.raises(koji.ParameterError, match='Invalid type'):
        plain.build(42, target['target'])
    with pytest.raises(koji.ActionNotAllowed, match='logged in'):
        devhub.session().build(URL, target['target'])
    task_id = plain.build(URL, 'no-such-target', None, priority=3, channel='createrepo')
    info = devhub.task_info(task_id, request=True)
    assert info['request'] == [URL, 'no-such-target', {}] and info['priority'] == 23
    assert session.getChannel(info['channel_id'])['name'] == 'createrepo'
    assert devhub.task_info(session.build(URL, target['target'], priority=-5))['priority'] == 15


def test_build_import_rules_tagging_and_cli(devhub, target, rpms, make_builder, tmp_path):
    session = devhub.admin_session()
    plain = devhub.session(target['user'], 'pw')
    task_id = plain.build(URL, target['target'])
    builder = make_builder(arches=('x86_64', 'aarch64'))
    builder.take(task_id)
    host = builder.session.host
    data = {'name': PKG, 'version': '1.0', 'release': '1', 'epoch': None, 'task_id': task_id,
            'source': URL, 'extra': {'source': {'original_url': URL}}}
    build_id = host.initBuild(data)
    assert host.initBuild(data) == build_id  # the same (restarted) task: the same build
    build = session.getBuild(build_id)
    assert build['state'] == BS['BUILDING'] and build['owner_id'] == target['user_id']
    assert build['task_id'] == task_id and build['source'] == URL
    assert build['completion_ts'] is None and build['extra'] == data['extra']

    # buildArch subtasks with buildroots and uploads, as kojid's
    hello = rpms['hello']
    noarch_name = os.path.basename(hello['noarch'])
    kojihash = koji.rpmdiff.Rpmdiff(hello['noarch'], hello['noarch'], ignore='S5TN').kojihash()
    paths, brs, logs, children = {}, {}, {}, {}
    for arch in ('x86_64', 'aarch64'):
        child = host.subtask('buildArch', [URL, target['build_tag'], arch, arch == 'x86_64',
                                           {'repo_id': target['repo_id']}],
                             task_id, label=arch, arch=arch)
        children[arch] = child
        builder.ready()
        builder.take(child)
        brs[arch] = host.newBuildRoot(target['repo_id'], arch, task_id=child)
        paths['noarch-' + arch] = _upload(builder, child, hello['noarch'])
        logs[arch] = [_upload(builder, child, _write(tmp_path, 'build.log', arch)),
                      _upload(builder, child, _write(tmp_path, 'noarch_rpmdiff.json',
                                                     {str(child): {noarch_name: kojihash}}))]
        if arch == 'x86_64':
            paths['srpm'] = _upload(builder, child, hello['src'])
            paths['x86_64'] = _upload(builder, child, hello['x86_64'])
            # files that break the import rules
            paths['misnamed'] = _upload(builder, child, hello['x86_64'],
                                        name='%s-1.0-1.i686.rpm' % PKG)
            paths['other-src'] = _upload(builder, child, rpms['other']['src'])
            paths['other-x86_64'] = _upload(builder, child, rpms['other']['x86_64'])
        host.closeTask(child, response({'rpms': [], 'srpms': [], 'logs': logs[arch],
                                        'brootid': brs[arch]}))
    # a noarch rpm that differs from the others (one more file), elsewhere in work/
    session.uploadWrapper(rpms['variant']['noarch'], 'devhub-test/variant')
    paths['variant'] = 'devhub-test/variant/' + noarch_name
    stray_br = host.newBuildRoot(target['repo_id'], 'x86_64')

    good = {
        'srpm': paths['srpm'],
        'rpms': [paths['x86_64'], paths['noarch-x86_64'], paths['noarch-aarch64']],
        'brmap': {paths['srpm']: brs['x86_64'], paths['x86_64']: brs['x86_64'],
                  paths['noarch-x86_64']: brs['x86_64'],
                  paths['noarch-aarch64']: brs['aarch64']},
        'logs': logs,
    }

    def complete(**changes):
        args = dict(good, **changes)
        return host.completeBuild(task_id, build_id, args['srpm'], args['rpms'],
                                  args['brmap'], args['logs'])

    bad = [
        (dict(srpm='../../../etc/passwd'), koji.GenericError, 'outside work'),
        (dict(srpm='/etc/hosts'), koji.GenericError, 'No such file: .*/work//etc/hosts'),
        (dict(rpms=good['rpms'] + ['tasks/1/1/nothing.noarch.rpm']), koji.GenericError,
         'No such file'),
        (dict(rpms=[paths['misnamed']]), koji.GenericError,
         r'bad filename: %s-1.0-1.i686.rpm \(expected %s-1.0-1.x86_64.rpm\)' % (PKG, PKG)),
        (dict(srpm=paths['other-src']), koji.GenericError,
         r'Unable to complete build: name mismatch \(build: %s, rpm: devhub-bother\)' % PKG),
        (dict(rpms=good['rpms'] + [paths['other-x86_64']]), koji.GenericError,
         r'srpm mismatch for .*: devhub-bother-1.0-1.src.rpm \(expected %s-1.0-1.src.rpm\)'
         % PKG),
        (dict(srpm=paths['x86_64']), koji.GenericError, 'not a source package'),
        (dict(brmap={paths['x86_64']: 999999}), koji.GenericError,
         'no buildroot with ID: 999999'),
        (dict(brmap={paths['x86_64']: stray_br}), koji.GenericError,
         'is not a buildroot of task %d' % task_id),
        (dict(rpms=good['rpms'] + [paths['variant']]), koji.BuildError,
         'built differently on different architectures: %s' % noarch_name),
    ]
    for changes, exc, message in bad:
        with pytest.raises(exc, match=message):
            complete(**changes)
    # a task the host does not hold (closed) is refused
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        host.completeBuild(children['x86_64'], build_id, good['srpm'], good['rpms'])
    # nothing moved, nothing recorded
    for relpath in good['rpms'] + [good['srpm']]:
        assert not os.path.islink(os.path.join(devhub.topdir, 'work', relpath))
    assert session.getBuild(build_id)['state'] == BS['BUILDING']
    assert session.listBuildRPMs(build_id) == []

    result = complete()
    assert result['id'] == build_id and result['state'] == BS['COMPLETE']
    build = session.getBuild(build_id)
    assert build['state'] == BS['COMPLETE'] and build['completion_ts'] >= build['start_ts']
    assert build['task_id'] == task_id and build['source'] == URL
    assert build['owner_name'] == target['user']
    build_rpms_ = dict((r['arch'], r) for r in session.listBuildRPMs(build_id))
    assert sorted(build_rpms_) == ['noarch', 'src', 'x86_64']  # the noarch duplicate dropped
    assert set(r['buildroot_id'] for r in build_rpms_.values()) == {brs['x86_64']}
    assert [r['id'] for r in session.listRPMs(buildrootID=brs['x86_64'])] == \
        sorted(r['id'] for r in build_rpms_.values())
    builddir = koji.PathInfo(topdir=devhub.topdir).build(build)
    assert builddir == os.path.join(devhub.topdir, 'packages', PKG, '1.0', '1')
    for rpm in build_rpms_.values():
        assert os.path.isfile(os.path.join(builddir, koji.pathinfo.rpm(rpm)))
    assert sorted(os.listdir(os.path.join(builddir, 'data', 'logs'))) == ['aarch64', 'x86_64']
    assert sorted(os.listdir(os.path.join(builddir, 'data', 'logs', 'x86_64'))) == \
        ['build.log', 'noarch_rpmdiff.json']
    # the uploads are now relative symlinks to the build's files
    work = os.path.join(devhub.topdir, 'work')
    srpm_link = os.path.join(work, good['srpm'])
    assert os.path.islink(srpm_link) and not os.readlink(srpm_link).startswith('/')
    assert os.path.realpath(srpm_link) == os.path.join(builddir, 'src', os.path.basename(
        hello['src']))
    assert not os.path.islink(os.path.join(work, paths['noarch-aarch64']))  # not imported
    with pytest.raises(koji.GenericError, match='Unable to complete build: state is COMPLETE'):
        complete()
    with pytest.raises(koji.GenericError,
                       match='cannot update build %d, state: COMPLETE' % build_id):
        host.failBuild(task_id, build_id)

    # the tagBuild subtask, as kojid's build task makes it
    tag_task = host.subtask('tagBuild', [target['dest_id'], build_id, False, None, True],
                            task_id, label='tag', arch='noarch')
    builder.ready()
    builder.take(tag_task)
    host.tagBuild(tag_task, target['dest_id'], build_id, False, None)
    host.tagNotification(True, target['dest_id'], None, build_id, target['user_id'], True)
    host.closeTask(tag_task, response(None))
    host.closeTask(task_id, response(None))
    assert [b['id'] for b in session.listTagged(target['dest_tag'])] == [build_id]
    history = session.queryHistory(tag=target['dest_tag'], build=build_id)['tag_listing']
    assert [h['creator_name'] for h in history] == [target['user']]  # the task's owner
    assert session.getTaskResult(task_id) is None
    assert session.listBuilds(taskID=task_id)[0]['id'] == build_id
    notes = [n for n in devhub.notifications() if n['build_id'] == build_id]
    assert [(n['type'], n['state']) for n in notes] == [('build', BS['COMPLETE']),
                                                        ('tag', BS['COMPLETE'])]
    assert notes[0]['task_id'] == task_id and notes[0]['tag_id'] == target['dest_id']
    assert notes[0]['recipients'] == ['%s@None' % target['user']]
    assert notes[1]['ignore_success'] and notes[1]['notify_task_id'] is None

    # the koji CLI shows it
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    nvr = '%s-1.0-1' % PKG
    out = run_koji(devhub, config, 'buildinfo', nvr)
    assert 'BUILD: %s [%d]' % (nvr, build_id) in out and 'State: COMPLETE' in out
    assert 'Task: %d build' % task_id in out and target['dest_tag'] in out
    assert '/packages/%s/1.0/1/noarch/%s' % (PKG, noarch_name) in out
    out = run_koji(devhub, config, 'list-tagged', '--quiet', target['dest_tag'])
    assert out.split()[0] == nvr
    out = run_koji(devhub, config, 'taskinfo', '-r', str(task_id))
    assert 'Build: %s (%d)' % (nvr, build_id) in out
    assert out.count('Type: buildArch') == 2 and 'Type: tagBuild' in out

    # the same N-V-R again: refused with kojihub's message
    task2 = plain.build(URL, target['target'])
    builder.ready()
    builder.take(task2)
    with pytest.raises(koji.GenericError,
                       match=r"Build already exists \(id=%d, state=COMPLETE\): \{'name': '%s'"
                       % (build_id, PKG)):
        host.initBuild(dict(data, task_id=task2))


def test_fail_recycle_and_cancel(devhub, target, make_builder):
    session = devhub.admin_session()
    plain = devhub.session(target['user'], 'pw')
    builder = make_builder()
    host = builder.session.host
    first, second = plain.build(URL, target['target']), plain.build(URL, target['target'])
    builder.take(first)
    data = {'name': 'devhub-bfail', 'version': '2', 'release': '1', 'epoch': 3,
            'task_id': first}
    build_id = host.initBuild(data)
    builder.ready()
    builder.take(second)
    with pytest.raises(koji.GenericError, match=r'Build already in progress \(task %d\)' % first):
        host.initBuild(dict(data, task_id=second))
    host.failBuild(first, build_id)
    build = session.getBuild(build_id)
    assert build['state'] == BS['FAILED'] and build['completion_ts'] is not None
    with pytest.raises(koji.GenericError,
                       match='cannot update build %d, state: FAILED' % build_id):
        host.failBuild(first, build_id)
    # a FAILED build is recycled for the next task
    assert host.initBuild(dict(data, task_id=second)) == build_id
    build = session.getBuild(build_id)
    assert build['state'] == BS['BUILDING'] and build['task_id'] == second
    assert build['completion_ts'] is None and build['epoch'] == 3
    host.failTask(first, response(None))
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        host.failBuild(first, build_id)
    # canceling the build task cancels its build
    plain.cancelTask(second)
    assert session.getBuild(build_id)['state'] == BS['CANCELED']
    notes = [(n['state'], n['task_id']) for n in devhub.notifications()
             if n['build_id'] == build_id]
    assert notes == [(BS['FAILED'], first), (BS['CANCELED'], second)]
    # a build with tag history is never recycled
    third = plain.build(URL, target['target'])
    builder.ready()
    builder.take(third)
    session.packageListAdd(target['dest_tag'], 'devhub-bfail', target['user'])
    empty = session.createEmptyBuild('devhub-bfail', '2', '9', None)
    session.tagBuildBypass(target['dest_tag'], empty)
    session.untagBuildBypass(target['dest_tag'], empty)
    with pytest.raises(koji.GenericError, match=r'Build already exists \(id=%d, state=COMPLETE'
                       % empty):
        host.initBuild(dict(data, release='9', task_id=third))


def test_scratch_build(devhub, target, rpms, make_builder, tmp_path):
    plain = devhub.session(target['user'], 'pw')
    task_id = plain.build(URL, target['target'], {'scratch': True})
    builder = make_builder()
    builder.take(task_id)
    host = builder.session.host
    hello = rpms['hello']
    srpm = _upload(builder, task_id, hello['src'])
    files = [_upload(builder, task_id, hello[arch]) for arch in ('x86_64', 'noarch')]
    log = _upload(builder, task_id, _write(tmp_path, 'build.log', 'ok'))
    with pytest.raises(koji.GenericError, match='No such file'):
        host.moveBuildToScratch(task_id, srpm, files + ['tasks/1/1/none.rpm'])
    assert host.moveBuildToScratch(task_id, srpm, files, {'x86_64': [log]}) is None
    scratch = os.path.join(devhub.topdir, 'scratch', target['user'], 'task_%d' % task_id)
    assert sorted(os.listdir(scratch)) == sorted(
        [os.path.basename(hello[k]) for k in ('src', 'x86_64', 'noarch')] + ['logs'])
    assert os.listdir(os.path.join(scratch, 'logs', 'x86_64')) == ['build.log']
    work = os.path.join(devhub.topdir, 'work')
    assert os.path.realpath(os.path.join(work, srpm)) == \
        os.path.join(scratch, os.path.basename(hello['src']))
    assert plain.listBuilds(taskID=task_id) == []
    assert plain.getBuild('%s-1.0-1' % PKG) is None or \
        plain.getBuild('%s-1.0-1' % PKG)['task_id'] != task_id


def test_host_tag_build_package_list(devhub, make_builder):
    session = devhub.admin_session()
    tag_a, tag_b = unique('htag'), unique('htag')
    tag_a_id, tag_b_id = session.createTag(tag_a), session.createTag(tag_b)
    build_id = session.createEmptyBuild('devhub-tagme', '1', '1', None)
    task_id = devhub.make_task('tagBuild', [tag_a_id, build_id, False, None, True])
    builder = make_builder()
    builder.take(task_id)
    host = builder.session.host
    # not listed, blocked: TagError naming the tag as given
    with pytest.raises(koji.TagError, match='Package devhub-tagme not in list for %d$'
                       % tag_a_id):
        host.tagBuild(task_id, tag_a_id, build_id)
    with pytest.raises(koji.TagError, match='Package devhub-tagme not in list for %s$' % tag_a):
        host.tagBuild(task_id, tag_a, build_id)
    session.packageListAdd(tag_a, 'devhub-tagme', 'kojiadmin')
    session.packageListBlock(tag_a, 'devhub-tagme')
    with pytest.raises(koji.TagError, match='Package devhub-tagme blocked in %s' % tag_a):
        host.tagBuild(task_id, tag_a, build_id, True)
    # force works for an admin host: the package is listed, the build tagged
    session.grantPermission(builder.name, 'admin')
    try:
        host.tagBuild(task_id, tag_a, build_id, True)
    finally:
        session.revokePermission(builder.name, 'admin')
    assert session.getPackageConfig(tag_a, 'devhub-tagme')['blocked'] is False
    assert [b['id'] for b in session.listTagged(tag_a)] == [build_id]
    with pytest.raises(koji.TagError, match='already tagged'):
        host.tagBuild(task_id, tag_a, build_id)
    # moving (fromtag): untagged from one, tagged in the other
    session.packageListAdd(tag_b, 'devhub-tagme', 'kojiadmin')
    host.tagBuild(task_id, tag_b_id, build_id, False, tag_a_id)
    assert session.listTagged(tag_a) == []
    assert [b['id'] for b in session.listTagged(tag_b)] == [build_id]
    # the result of tagging is recorded
    host.tagNotification(False, tag_b_id, tag_a_id, build_id, 'kojiadmin', False,
                         'TagError: boom')
    note = devhub.notifications()[-1]
    assert note['type'] == 'tag' and note['is_successful'] is False
    assert note['tag_id'] == tag_b_id and note['from_id'] == tag_a_id
    assert note['user_id'] == session.getUser('kojiadmin')['id']
    assert note['failure_msg'] == 'TagError: boom' and note['recipients'] == ['kojiadmin@None']
    other = make_builder()
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        other.session.host.tagBuild(task_id, tag_b_id, build_id)


def test_policies_and_subtask_owner(devhub, target, make_builder):
    admin_id = devhub.admin_session().getUser('kojiadmin')['id']
    builder = make_builder()
    host = builder.session.host
    user = {'user_id': target['user_id']}
    with pytest.raises(koji.ActionNotAllowed, match=r'^policy violation \(build_from_srpm\): '
                       r'Only admin can do this via default policy$'):
        host.assertPolicy('build_from_srpm', user)
    assert host.assertPolicy('build_from_srpm', {'user_id': admin_id}) is None
    assert host.assertPolicy('build_rpm', user) is None
    assert host.checkPolicy('build_from_repo_id', user) == \
        [False, 'Only admin can do this via default policy']
    assert host.checkPolicy('tag', {}) == [True, 'missing policy']
    assert host.evalPolicy('build_from_scm', {'user_id': admin_id}) == 'allow'
    assert host.evalPolicy('build_from_scm', user) == \
        'deny Only admin can do this via default policy'
    with pytest.raises(koji.GenericError, match='no such policy: tag'):
        host.evalPolicy('tag', {})
    with pytest.raises(koji.AuthError):
        devhub.session(target['user'], 'pw').host.evalPolicy('build_rpm', {})
    # the root call needs no login (koji.daemon.SCM asks it for build_from_scm)
    assert devhub.session().evalPolicy('build_from_scm', user) == \
        'deny Only admin can do this via default policy'
    scm = koji.daemon.SCM('git+https://git.example.com/rpms/x.git#abc')
    with pytest.raises(koji.BuildError, match='not allowed, reason: Only admin can do this'):
        scm.assert_allowed(session=devhub.session(), by_config=False, by_policy=True,
                           policy_data={'user_id': target['user_id'], 'scratch': False})
    scm.assert_allowed(session=devhub.session(), by_config=False, by_policy=True,
                       policy_data={'user_id': admin_id})
    with pytest.raises(koji.ActionNotAllowed, match='owner option is not allowed'):
        devhub.admin_session().makeTask('sleep', [1], owner=target['user'])
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    with pytest.raises(koji.ActionNotAllowed, match='The owner option is not allowed here'):
        host.subtask('sleep', [1], task_id, owner=target['user'])


def test_notification_tasks(tmp_path):
    """With --notification-tasks the hub makes the mail tasks a stock kojihub makes."""
    extra = ['--notification-tasks', '--email-domain', 'example.com']
    with DevHub(topdir=str(tmp_path / 'koji'), scheduler_interval=0, extra_args=extra) as hub:
        session = hub.admin_session()
        session.createTag('ntag')
        session.createBuildTarget('ntarget', 'ntag', 'ntag')
        task_id = session.build(URL, 'ntarget')
        builder = Builder(hub, 'nbuilder', ['x86_64'])
        builder.ready()
        builder.take(task_id)
        host = builder.session.host
        build_id = host.initBuild({'name': 'devhub-note', 'version': '1', 'release': '1',
                                   'epoch': None, 'task_id': task_id})
        host.failBuild(task_id, build_id)
        tasks = session.listTasks({'method': 'buildNotification', 'decode': True})
        assert len(tasks) == 1
        recipients, build, target, url = tasks[0]['request']
        assert recipients == ['kojiadmin@example.com'] and build['id'] == build_id
        assert build['state'] == BS['FAILED'] and target['name'] == 'ntarget'
        assert url == 'http://localhost.localdomain/koji'
        host.tagNotification(True, 'ntag', None, build_id, 'kojiadmin', True)
        host.tagNotification(False, 'ntag', None, build_id, 'kojiadmin', True, 'failed')
        tasks = session.listTasks({'method': 'tagNotification', 'decode': True})
        assert [t['request'] for t in tasks] == [[['kojiadmin@example.com'], False, 'ntag',
                                                  None, build_id, session.getUser(
                                                      'kojiadmin')['id'], True, 'failed']]
