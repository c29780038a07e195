"""Task life cycle, results, subtasks, waiting, cancellation and the scheduler."""

import time

import koji
import pytest

from devhub_helpers import fault_response, response, unique
from koji_adjutant_devhub.testing import DevHub

ST = koji.TASK_STATES


def test_open_close_and_result(devhub, make_builder):
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    info = devhub.task_info(task_id)
    assert info['state'] == ST['FREE'] and info['weight'] == 0.25 and info['arch'] == 'noarch'
    assert info['priority'] == koji.PRIO_DEFAULT and info['owner'] == \
        devhub.admin_session().getLoggedInUser()['id']
    assert set(info) == {'id', 'state', 'create_time', 'create_ts', 'start_time', 'start_ts',
                         'completion_time', 'completion_ts', 'channel_id', 'host_id', 'parent',
                         'label', 'waiting', 'awaited', 'owner', 'method', 'arch', 'priority',
                         'weight'}
    assigned = builder.session.host.getTasks()
    assert assigned == [{'id': task_id, 'state': ST['ASSIGNED'], 'channel_id': info['channel_id'],
                         'host_id': builder.id, 'arch': 'noarch', 'method': 'sleep',
                         'priority': 20, 'create_ts': info['create_ts']}]
    opened = builder.session.host.openTask(task_id)
    assert opened['state'] == ST['OPEN'] and opened['host_id'] == builder.id
    assert opened['request'].startswith('<?xml')
    assert devhub.admin_session().getTaskInfo(task_id, request=True)['request'] == [1]
    assert devhub.admin_session().getTaskRequest(task_id) == [1]
    with pytest.raises(koji.GenericError, match='is not finished'):
        devhub.admin_session().getTaskResult(task_id)
    builder.session.host.setTaskWeight(task_id, 0.5)
    assert builder.session.host.getHostTasks() == [{'id': task_id, 'waiting': None,
                                                    'weight': 0.5}]
    result = {'rpms': ['tasks/%d/%d/a.rpm' % (task_id % 10000, task_id)], 'big': 2 ** 40}
    builder.session.host.closeTask(task_id, response(result))
    info = devhub.task_info(task_id)
    assert info['state'] == ST['CLOSED'] and info['completion_ts'] >= info['start_ts']
    assert devhub.admin_session().getTaskResult(task_id) == result
    # a closed task can be neither closed again nor reopened
    with pytest.raises(koji.ActionNotAllowed):
        builder.session.host.closeTask(task_id, response(None))
    assert builder.session.host.openTask(task_id) is None


def test_fail_keeps_fault_code(devhub, make_builder):
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    builder.session.host.failTask(task_id, fault_response(koji.BuildError, 'rpmbuild failed'))
    assert devhub.task_info(task_id)['state'] == ST['FAILED']
    with pytest.raises(koji.BuildError, match='rpmbuild failed') as exc:
        devhub.admin_session().getTaskResult(task_id)
    assert exc.value.faultCode == 1005
    assert devhub.admin_session().getTaskResult(task_id, raise_fault=False) == {
        'faultCode': 1005, 'faultString': 'rpmbuild failed'}


def test_base64_response_and_bad_response(devhub, make_builder):
    import base64
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    with pytest.raises(koji.GenericError, match='Invalid'):
        builder.session.host.closeTask(task_id, 'this is not xml-rpc')
    encoded = base64.b64encode(response('ok').encode()).decode()
    builder.session.host.closeTask(task_id, encoded)
    assert devhub.admin_session().getTaskResult(task_id) == 'ok'


def test_only_the_owning_host_may_finish(devhub, make_builder):
    owner, other = make_builder(), make_builder(ready=False)
    task_id = devhub.make_task('sleep', [1])
    # assigned (not yet open) tasks cannot be closed either
    devhub.admin_session().assignTask(task_id, owner.name)
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        owner.session.host.closeTask(task_id, response(None))
    assert other.session.host.openTask(task_id) is None
    assert owner.session.host.openTask(task_id)['id'] == task_id
    with pytest.raises(koji.ActionNotAllowed, match='host %d does not own task %d'
                       % (other.id, task_id)):
        other.session.host.closeTask(task_id, response(None))
    with pytest.raises(koji.ActionNotAllowed):
        other.session.host.failTask(task_id, response(None))
    with pytest.raises(koji.ActionNotAllowed):
        other.session.host.setTaskWeight(task_id, 3.0)
    # freeTasks ignores tasks that are not ours
    other.session.host.freeTasks([task_id])
    assert devhub.task_info(task_id)['state'] == ST['OPEN']
    owner.session.host.freeTasks([task_id])
    info = devhub.task_info(task_id)
    assert info['state'] == ST['FREE'] and info['host_id'] is None


def test_subtasks_wait_and_results(devhub, make_builder):
    builder = make_builder()
    parent = devhub.make_task('build', ['src', 'target'], priority=10)
    builder.take(parent)
    host = builder.session.host
    child1 = host.subtask('sleep', [1], parent, label='one', arch='x86_64')
    assert host.subtask('sleep', [1], parent, label='one') == child1  # same label, same child
    child2 = host.subtask2(parent, {'label': 'two'}, 'sleep', 2, extra=True)
    info = devhub.task_info(child2, request=True)
    assert info['parent'] == parent and info['priority'] == 9 and info['arch'] == 'noarch'
    assert info['request'] == [2, {'extra': True, '__starstar': True}]
    assert devhub.task_info(child1)['arch'] == 'x86_64'
    children = devhub.admin_session().getTaskChildren(parent)
    assert [c['id'] for c in children] == [child1, child2]
    desc = devhub.admin_session().getTaskDescendents(parent)
    assert sorted(desc) == sorted([str(parent), str(child1), str(child2)])

    host.taskSetWait(parent, None)
    assert host.getHostTasks() == [{'id': parent, 'waiting': True, 'weight': 0.2}]
    assert host.taskWait(parent) == [[], [child1, child2]]
    # run the children on the same host
    builder.ready()
    for child in (child1, child2):
        builder.take(child)
    host.closeTask(child1, response('one done'))
    alert = [t for t in host.getHostTasks() if t['id'] == parent][0]
    assert alert['alert'] is True
    assert host.taskWait(parent) == [[child1], [child2]]
    host.failTask(child2, fault_response(koji.BuildError, 'two broke'))
    with pytest.raises(koji.BuildError, match='two broke'):
        host.taskWaitResults(parent, [child1, child2])
    results = host.taskWaitResults(parent, [child1, child2], [child2])
    assert results == [[child1, 'one done'],
                       [child2, {'faultCode': 1005, 'faultString': 'two broke'}]]
    assert devhub.task_info(parent)['waiting'] is False
    host.closeTask(parent, response(None))


def test_subtask_needs_open_parent_of_ours(devhub, make_builder):
    builder, other = make_builder(), make_builder(ready=False)
    parent = devhub.make_task('build', ['src', 'target'])
    builder.take(parent)
    with pytest.raises(koji.ActionNotAllowed):
        other.session.host.subtask('sleep', [1], parent)


def test_cancel_cascades_to_children(devhub, make_builder):
    builder = make_builder()
    parent = devhub.make_task('build', ['src', 'target'])
    builder.take(parent)
    kids = [builder.session.host.subtask('sleep', [n], parent, label='k%d' % n)
            for n in range(3)]
    grandkid_parent = kids[0]
    builder.ready()
    builder.take(grandkid_parent)
    grandkid = builder.session.host.subtask('sleep', [9], grandkid_parent)
    devhub.admin_session().cancelTask(parent)
    for task_id in [parent] + kids + [grandkid]:
        assert devhub.task_info(task_id)['state'] == ST['CANCELED']
    with pytest.raises(koji.GenericError, match='Task %d is canceled' % parent):
        devhub.admin_session().getTaskResult(parent)
    assert builder.session.host.getHostTasks() == []


def test_cancel_children_and_full(devhub, make_builder):
    builder = make_builder()
    parent = devhub.make_task('build', ['src', 'target'])
    builder.take(parent)
    kid = builder.session.host.subtask('sleep', [1], parent)
    # the host running a task may cancel its children
    builder.session.cancelTaskChildren(parent)
    assert devhub.task_info(kid)['state'] == ST['CANCELED']
    assert devhub.task_info(parent)['state'] == ST['OPEN']
    kid2 = builder.session.host.subtask('sleep', [2], parent)
    with pytest.raises(koji.GenericError, match='not top-level'):
        devhub.admin_session().cancelTaskFull(kid2)
    devhub.admin_session().cancelTaskFull(kid2, strict=False)
    assert devhub.task_info(parent)['state'] == ST['CANCELED']
    assert devhub.task_info(kid2)['state'] == ST['CANCELED']


def test_cancel_permissions(devhub):
    devhub.add_user('dave', 'pw', perms=())
    task_id = devhub.make_task('sleep', [1])
    with pytest.raises(koji.ActionNotAllowed, match='not owner'):
        devhub.session('dave', 'pw').cancelTask(task_id)
    devhub.admin_session().cancelTask(task_id)
    # canceling a finished task changes nothing
    devhub.admin_session().cancelTask(task_id)
    assert devhub.task_info(task_id)['state'] == ST['CANCELED']


def test_list_tasks_filters(devhub, make_builder):
    builder = make_builder()
    a = devhub.make_task('sleep', [1])
    b = devhub.make_task('noSuchMethod', [2], arch='x86_64')
    builder.take(a)
    session = devhub.admin_session()
    open_ids = [t['id'] for t in session.listTasks(opts={'state': [ST['OPEN']]})]
    assert a in open_ids and b not in open_ids
    mine = session.listTasks(opts={'host_id': builder.id, 'state': [ST['OPEN']]})
    assert [t['id'] for t in mine] == [a]
    assert mine[0]['owner_name'] == 'kojiadmin'
    by_method = session.listTasks(opts={'method': 'noSuchMethod', 'decode': True})
    assert [t['request'] for t in by_method if t['id'] == b] == [[2]]
    assert session.listTasks(opts={'parent': a}) == []
    newest = session.listTasks(opts={'parent': None}, queryOpts={'order': '-id', 'limit': 1})
    assert newest[0]['id'] == b
    assert session.listTasks(opts={'method': 'sleep'}, queryOpts={'countOnly': True}) >= 1
    recent = session.listTasks(opts={'createdAfter': time.time() - 3600,
                                     'method': 'noSuchMethod'})
    assert b in [t['id'] for t in recent]
    assert session.listTasks(opts={'createdBefore': '2000-01-01'}) == []


def test_refuse_task(devhub, make_builder):
    first, second = make_builder(), make_builder()
    task_id = devhub.make_task('sleep', [1], channel='default')
    devhub.admin_session().assignTask(task_id, first.name)
    first.session.host.refuseTask(task_id, soft=False, msg='no handler for method')
    assert devhub.task_info(task_id)['state'] == ST['FREE']
    refusals = devhub.admin_session().getTaskRefusals(taskID=task_id)
    assert refusals[0]['host_id'] == first.id and refusals[0]['soft'] is False
    # never again to the host that refused it ...
    assert first.session.host.getTasks() == []
    # ... but to another one
    assert [t['id'] for t in second.session.host.getTasks()] == [task_id]


def test_scheduler_arch_channel_and_capacity(devhub, make_builder):
    x86 = make_builder(['x86_64'])
    arm = make_builder(['aarch64'])
    task_id = devhub.make_task('sleep', [1], arch='aarch64')
    assert x86.session.host.getTasks() == []
    assert [t['id'] for t in arm.session.host.getTasks()] == [task_id]
    arm.session.host.openTask(task_id)
    arm.session.host.closeTask(task_id, response(None))

    # channel: only hosts subscribed to it serve its tasks
    channel = unique('chan')
    devhub.admin_session().addChannel(channel)
    task_id = devhub.make_task('sleep', [1], channel=channel)
    assert x86.session.host.getTasks() == []
    devhub.admin_session().addHostToChannel(x86.name, channel)
    assert [t['id'] for t in x86.session.host.getTasks()] == [task_id]
    x86.session.host.openTask(task_id)

    # capacity: weight 1.5 open on a host of capacity 1.0 leaves no room
    arm.session.host.updateHost(0.0, False)
    devhub.admin_session().editHost(x86.name, capacity=1.0)
    x86.session.host.setTaskWeight(task_id, 1.5)
    second = devhub.make_task('sleep', [2])
    assert x86.session.host.getTasks() == []
    devhub.admin_session().editHost(x86.name, capacity=4.0)
    assert [t['id'] for t in x86.session.host.getTasks()] == [second]


def test_scheduler_skips_unready_disabled_and_full_hosts(devhub, make_builder):
    builder = make_builder()
    builder.session.host.updateHost(0.0, False)
    task_id = devhub.make_task('sleep', [1])
    assert builder.session.host.getTasks() == []
    devhub.admin_session().disableHost(builder.name)
    builder.ready()
    assert builder.session.host.getTasks() == []
    assert builder.session.host.getHost()['enabled'] is False
    devhub.admin_session().enableHost(builder.name)
    # maxjobs comes from the builder's updateHost data
    builder.ready(methods=['sleep'], maxjobs=1)
    assert [t['id'] for t in builder.session.host.getTasks()] == [task_id]
    builder.session.host.openTask(task_id)
    other = devhub.make_task('sleep', [2])
    assert builder.session.host.getTasks() == []
    devhub.admin_session().cancelTask(other)


def test_resubmit_and_load_data(devhub, make_builder):
    builder = make_builder()
    task_id = devhub.make_task('sleep', [7], arch='x86_64')
    builder.take(task_id)
    load = builder.session.host.getLoadData()
    assert load[0][0]['id'] == builder.id and 1 in load[0][0]['channels']
    builder.session.host.failTask(task_id, fault_response(koji.GenericError, 'oops'))
    again = devhub.admin_session().resubmitTask(task_id)
    info = devhub.task_info(again, request=True)
    assert info['request'] == [7] and info['arch'] == 'x86_64' and info['state'] == ST['FREE']
    assert devhub.admin_session().getLastHostUpdate(builder.id, ts=True) > 0
    assert devhub.admin_session().getAverageBuildDuration('bash') is None


def test_make_task_options(devhub, make_builder):
    builder = make_builder()
    session = devhub.admin_session()
    task_id = session.makeTask('sleep', [1], assign=builder.name, priority=5, arch='x86_64',
                               channel='createrepo')
    info = devhub.task_info(task_id)
    assert info['state'] == ST['ASSIGNED'] and info['host_id'] == builder.id
    assert info['priority'] == 5 and info['arch'] == 'x86_64'
    assert info['channel_id'] == session.getChannel('createrepo')['id']
    with pytest.raises(koji.GenericError, match='No such channel'):
        session.makeTask('sleep', [1], channel='nope')
    with pytest.raises(koji.GenericError, match='not open'):
        session.makeTask('sleep', [1], parent=task_id)


def test_timeouts_free_tasks(tmp_path):
    args = ['--assign-timeout', '0.3', '--host-timeout', '0.6', '--ready-timeout', '0.6']
    with DevHub(topdir=str(tmp_path / 'koji'), scheduler_interval=0, extra_args=args) as hub:
        hub.add_host('slowpoke', ['x86_64'], 'pw')
        hub.add_host('other', ['x86_64'], 'pw')
        slowpoke = hub.host_session('slowpoke', 'pw')
        other = hub.host_session('other', 'pw')
        slowpoke.host.updateHost(0.0, True)
        task_id = hub.make_task('sleep', [1])
        assert [t['id'] for t in slowpoke.host.getTasks()] == [task_id]
        # slowpoke never opens it: after the assign timeout the task is freed and
        # the next scheduler run gives it to another ready host
        time.sleep(0.4)
        slowpoke.host.updateHost(0.0, False)
        other.host.updateHost(0.0, True)
        for dummy in range(3):
            assigned = [t['id'] for t in other.host.getTasks()]
            if assigned:
                break
        assert assigned == [task_id]
        other.host.openTask(task_id)
        # 'other' goes silent: it is marked not ready after the ready timeout and its
        # OPEN task is freed after the host timeout
        time.sleep(0.7)
        slowpoke.host.getTasks()
        assert hub.admin_session().getHost('other')['ready'] is False
        info = hub.task_info(task_id)
        assert info['state'] == ST['FREE'] and info['host_id'] is None
        log = hub.log_tail(60)
        assert 'Task assignment timeout' in log and 'unresponsive host' in log


def test_scheduler_run_interval(tmp_path):
    with DevHub(topdir=str(tmp_path / 'koji'), scheduler_interval=30) as hub:
        hub.add_host('patient', ['x86_64'], 'pw')
        builder = hub.host_session('patient', 'pw')
        builder.host.updateHost(0.0, True)
        first = hub.make_task('sleep', [1])
        assert [t['id'] for t in builder.host.getTasks()] == [first]
        builder.host.openTask(first)
        builder.host.closeTask(first, response(None))
        # the next run is not due yet: nothing is assigned
        second = hub.make_task('sleep', [2])
        assert builder.host.getTasks() == []
        assert hub.task_info(second)['state'] == ST['FREE']
