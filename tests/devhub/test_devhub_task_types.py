"""chainBuild (koji chain-build), moveAllBuilds (koji move-build --all: dependantTask
chains), makeTask for dependantTask and shutdown, and the host calls kojid's
ChainBuildTask and DependantTask make."""

import koji
import pytest

from devhub_helpers import build_rpms, fault_response, response, run_koji, unique

TS = koji.TASK_STATES


def _chain_target(devhub):
    """A target whose build tag inherits its destination tag (what chain-build needs)."""
    session = devhub.admin_session()
    dest, build, target = unique('cb-dest'), unique('cb-build'), unique('cb-target')
    session.createTag(dest, arches='x86_64')
    session.createTag(build, parent=dest, arches='x86_64')
    session.createBuildTarget(target, build, dest)
    return dest, build, target


def _newest(session, method):
    return session.listTasks(opts={'method': method, 'decode': True},
                             queryOpts={'order': '-id', 'limit': 1})[0]


def test_koji_chain_build_creates_task(devhub, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    dest, build, target = _chain_target(devhub)
    url1, url2 = 'git://example.com/a.git#abc', 'git+https://example.com/b.git#def'
    out = run_koji(devhub, config, 'chain-build', '--nowait', target, url1, ':',
                   'dep-pkg-1.0-1', url2)
    task_id = int(out.split('Created task:')[1].split()[0])
    task = session.getTaskInfo(task_id, request=True)
    # kojihub's chainBuild: the srcs as the CLI grouped them, the target, opts {}
    assert task['method'] == 'chainbuild'
    assert task['request'] == [[[url1], ['dep-pkg-1.0-1', url2]], target, {}]
    assert task['priority'] == koji.PRIO_DEFAULT and task['arch'] == 'noarch'
    assert task['owner'] == session.getLoggedInUser()['id'] and task['parent'] is None
    assert session.getChannel(task['channel_id'])['name'] == 'default'
    assert task['weight'] == 0.1
    out = run_koji(devhub, config, 'chain-build', '--nowait', '--background', target, url1,
                   ':', url2)
    task_id = int(out.split('Created task:')[1].split()[0])
    assert session.getTaskInfo(task_id)['priority'] == koji.PRIO_DEFAULT + 5


def test_chain_build_refusals(devhub, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    dest, build, target = _chain_target(devhub)
    url = 'git://example.com/a.git#abc'
    # the CLI's checks, made with the hub's answers
    rc, out = run_koji(devhub, config, 'chain-build', '--nowait', unique('nosuch'), url, ':',
                       url, check=False)
    assert rc != 0 and 'No such build target' in out
    rc, out = run_koji(devhub, config, 'chain-build', '--nowait', target, 'x.src.rpm', ':', url,
                       check=False)
    assert rc != 0 and '"x.src.rpm" is not a SCM URL or package N-V-R' in out
    rc, out = run_koji(devhub, config, 'chain-build', '--nowait', target, url, url,
                       check=False)
    assert rc != 0 and 'You must specify at least one dependency between builds' in out
    other = unique('cb-other')
    session.createTag(other, arches='x86_64')
    unusable = unique('cb-unusable')
    session.createBuildTarget(unusable, build, other)
    rc, out = run_koji(devhub, config, 'chain-build', '--nowait', unusable, url, ':', url,
                       check=False)
    assert rc != 0 and 'Target %s is not usable for a chain-build' % unusable in out
    session.editTag2(dest, locked=True)
    rc, out = run_koji(devhub, config, 'chain-build', '--nowait', target, url, ':', url,
                       check=False)
    assert rc != 0 and 'Destination tag %s is locked' % dest in out
    # the hub's: a login, srcs a list, high priority for admins only, the channel
    with pytest.raises(koji.ActionNotAllowed, match='must be logged in'):
        devhub.session().chainBuild([[url], [url]], target)
    with pytest.raises(koji.ParameterError, match="expected type <class 'list'>"):
        session.chainBuild(url, target)
    devhub.add_user('chainer', 'pw')
    user = devhub.session('chainer', 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='only admins may create high-priority'):
        user.chainBuild([[url], [url]], target, priority=-5)
    with pytest.raises(koji.GenericError, match='No such channel'):
        user.chainBuild([[url], [url]], target, channel=unique('nochan'))
    # nothing else is checked by the hub: the builder finds out about the target
    task_id = user.chainBuild([[url], ['a-1-1']], unique('nosuchtarget'), opts={'x': 1},
                              priority=3, channel='createrepo')
    task = session.getTaskInfo(task_id, request=True)
    assert task['priority'] == koji.PRIO_DEFAULT + 3 and task['request'][2] == {'x': 1}
    assert session.getChannel(task['channel_id'])['name'] == 'createrepo'


def test_chain_build_host_calls(devhub, make_builder):
    """The calls kojid's ChainBuildTask makes: build and waitrepo subtasks, waiting,
    the builds a build task made, failing on a failed link."""
    session = devhub.admin_session()
    dest, build, target = _chain_target(devhub)
    url1, url2 = 'git://example.com/a.git#1', 'git://example.com/b.git#2'
    task_id = session.chainBuild([[url1], [url2]], target)
    builder = make_builder()
    builder.take(task_id)
    host = builder.session.host
    assert session.getBuildTarget(target)['build_tag_name'] == build
    first = host.subtask(method='build', arglist=[url1, target, {}], label='build 0,0',
                         parent=task_id)
    assert host.subtask(method='build', arglist=[url1, target, {}], label='build 0,0',
                        parent=task_id) == first
    info = session.getTaskInfo(first, request=True)
    assert info['method'] == 'build' and info['request'] == [url1, target, {}]
    assert info['priority'] == koji.PRIO_DEFAULT - 1 and info['arch'] == 'noarch'
    assert info['owner'] == session.getTaskInfo(task_id)['owner']
    assert session.getChannel(info['channel_id'])['name'] == 'default'
    host.taskSetWait(task_id, [first])
    assert host.taskWait(task_id) == [[], [first]]
    builder.take(first)
    builder.session.host.closeTask(first, response(None))
    assert host.taskWait(task_id) == [[first], []]
    assert host.taskWaitResults(task_id, [first]) == [[first, None]]
    # no build was imported by that (fake) build task
    assert session.listBuilds(taskID=first) == []
    # the next level waits for the previous one's builds in the build tag's repo
    wait = host.subtask(method='waitrepo', arglist=[build, None, ['dep-1.0-1']],
                        label='wait 1', parent=task_id)
    assert session.getTaskInfo(wait, request=True)['request'] == [build, None, ['dep-1.0-1']]
    builder.take(wait)
    host.closeTask(wait, response({'id': 1}))
    second = host.subtask(method='build', arglist=[url2, target, {}], label='build 1,0',
                          parent=task_id)
    host.taskSetWait(task_id, [second])
    builder.take(second)
    host.failTask(second, fault_response(koji.BuildError, 'package b not in list'))
    assert host.taskWait(task_id) == [[second], []]
    with pytest.raises(koji.BuildError, match='package b not in list'):
        host.taskWaitResults(task_id, [second])
    host.failTask(task_id, fault_response(koji.BuildError, 'package b not in list'))
    with pytest.raises(koji.BuildError, match='package b not in list'):
        session.getTaskResult(task_id)


# -- dependantTask: moveAllBuilds and makeTask ------------------------------------------

@pytest.fixture(scope='module')
def moved_builds(devhub, tmp_path_factory):
    """Two builds of one package, tagged (in that order) in a source tag."""
    workdir = str(tmp_path_factory.mktemp('moverpms'))
    name = unique('mover')
    src = unique('mv-src')
    devhub.make_tag_with_repo(src, ['x86_64'])
    builds = []
    for release in ('1', '2'):
        rpms = build_rpms(workdir, name, release=release)
        builds += devhub.import_rpms(list(rpms.values()), tag=src)
    return {'name': name, 'src': src, 'builds': builds}


def test_koji_move_build_all_makes_dependant_tasks(devhub, make_builder, moved_builds,
                                                   tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    name, src = moved_builds['name'], moved_builds['src']
    dst = unique('mv-dst')
    session.createTag(dst, arches='x86_64')
    rc, out = run_koji(devhub, config, 'move-build', '--all', '--nowait', src, dst, name,
                       check=False)
    assert rc != 0 and 'Package %s not in list for tag %s' % (name, dst) in out
    session.packageListAdd(dst, name, 'kojiadmin')
    out = run_koji(devhub, config, 'move-build', '--all', '--nowait', src, dst, name,
                   unique('nosuchpkg'))
    assert 'No such package' in out
    tasks = session.listTasks(opts={'method': 'dependantTask', 'decode': True},
                              queryOpts={'order': '-id', 'limit': 2})[::-1]
    src_id, dst_id = session.getTag(src)['id'], session.getTag(dst)['id']
    b1, b2 = [b['id'] for b in moved_builds['builds']]
    # oldest tagging first, each waiting for the one before; force as the CLI sent it
    # (None without --force)
    assert tasks[0]['request'] == [[], [['tagBuild', [dst_id, b1, None, src_id],
                                         {'priority': 15}]]]
    assert tasks[1]['request'] == [[tasks[0]['id']],
                                   [['tagBuild', [dst_id, b2, None, src_id],
                                     {'priority': 15}]]]
    for task in tasks:
        assert task['priority'] == koji.PRIO_DEFAULT and task['weight'] == 0.2
        assert session.getChannel(task['channel_id'])['name'] == 'default'
        assert task['owner_name'] == 'kojiadmin' and task['arch'] == 'noarch'
    # kojid's DependantTask: wait for the listed tasks (taskFinished/getTaskInfo), then
    # run the listed subtasks with their options and wait for them (the second link is
    # not played here)
    session.cancelTask(tasks[1]['id'])
    builder = make_builder()
    first = tasks[0]['id']
    builder.take(first)
    host = builder.session.host
    child = host.subtask(method='tagBuild', arglist=[dst_id, b1, None, src_id], parent=first,
                         priority=15)
    info = session.getTaskInfo(child)
    assert info['priority'] == 15 and info['method'] == 'tagBuild'
    assert session.getChannel(info['channel_id'])['name'] == 'default'
    host.taskSetWait(first, [child])
    builder.take(child)
    host.tagBuild(child, dst_id, b1, None, src_id)
    host.closeTask(child, response(None))
    assert host.taskWaitResults(first, [child]) == [[child, None]]
    host.closeTask(first, response(None))
    assert [b['id'] for b in session.listTagged(dst)] == [b1]
    assert [b['id'] for b in session.listTagged(src)] == [b2]
    second = builder.session
    assert second.taskFinished(first) is True
    assert second.getTaskInfo(first)['state'] == TS['CLOSED']


def test_move_all_builds_refusals(devhub, moved_builds):
    session = devhub.admin_session()
    name, src = moved_builds['name'], moved_builds['src']
    dst = unique('mv-locked')
    session.createTag(dst, arches='x86_64', locked=True)
    session.packageListAdd(dst, name, 'kojiadmin')
    with pytest.raises(koji.ActionNotAllowed, match='must be logged in'):
        devhub.session().moveAllBuilds(src, dst, name)
    devhub.add_user('mover', 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='locked'):
        devhub.session('mover', 'pw').moveAllBuilds(src, dst, name)
    with pytest.raises(koji.GenericError, match='No such tagInfo'):
        session.moveAllBuilds(src, unique('nosuch'), name)
    with pytest.raises(koji.GenericError):
        session.moveAllBuilds(src, dst, unique('nosuchpkg'))
    # an admin with force: package added to the list, lock overridden
    unlisted = unique('mv-unlisted')
    session.createTag(unlisted, arches='x86_64')
    with pytest.raises(koji.TagError, match='not in list for tag'):
        session.moveAllBuilds(src, unlisted, name)
    tasks = session.moveAllBuilds(src, unlisted, name, True)
    assert len(tasks) == len(session.listTagged(src, package=name)) > 0
    assert session.checkTagPackage(unlisted, name)
    assert session.getTaskRequest(tasks[0])[1][0][1][2] is True


def test_make_task_dependant_and_shutdown(devhub, make_builder):
    session = devhub.admin_session()
    devhub.add_user('notadmin', 'pw')
    user = devhub.session('notadmin', 'pw')
    for method, args in (('dependantTask', [[], [['sleep', [1]]]]), ('shutdown', [])):
        with pytest.raises(koji.ActionNotAllowed, match='admin permission required'):
            user.makeTask(method, args)
    sleeper = session.makeTask('sleep', [1])
    dep = session.makeTask('dependantTask', [[sleeper], [['sleep', [2], {'priority': 15}]]])
    info = session.getTaskInfo(dep, request=True)
    assert info['request'] == [[sleeper], [['sleep', [2], {'priority': 15}]]]
    assert info['weight'] == 0.2 and info['arch'] == 'noarch'
    assert session.getChannel(info['channel_id'])['name'] == 'default'
    builder = make_builder()
    # shutdown: usually assigned to one host; weight 0 (kojid runs it in the foreground)
    stop = session.makeTask('shutdown', [], assign=builder.name)
    info = session.getTaskInfo(stop)
    assert info['state'] == TS['ASSIGNED'] and info['host_id'] == builder.id
    assert info['weight'] == 0.0 and info['priority'] == koji.PRIO_DEFAULT
    assert session.getChannel(info['channel_id'])['name'] == 'default'
    assert stop in [t['id'] for t in builder.session.host.getTasks()]
    assert builder.session.host.openTask(stop)['method'] == 'shutdown'
    # kojid leaves on ServerExit and frees what it held (TaskManager.shutdown)
    builder.session.host.freeTasks([stop])
    builder.session.host.updateHost(0.0, False)
    info = session.getTaskInfo(stop)
    assert info['state'] == TS['FREE'] and info['host_id'] is None
    # dependantTask waits for tasks that are not its children
    assert session.taskFinished(sleeper) is False
    session.cancelTask(sleeper)
    assert session.taskFinished(sleeper) is True
    assert session.getTaskInfo(sleeper)['state'] == TS['CANCELED']
