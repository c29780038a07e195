"""The hub side of koji's runroot plugin: the runroot call, through the real ``koji
runroot`` CLI plugin (task arguments, channel, arch, refusals, waiting for the task
and printing its runroot.log, --watch), and the dev hub's plugin options."""

import re
import subprocess
import threading
import time

import koji
import pytest

from devhub_helpers import fault_response, koji_cli, response, run_koji, unique
from koji_adjutant_devhub.testing import DevHub

TS = koji.TASK_STATES


def _config(devhub, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    with open(config, 'a') as fo:
        fo.write('poll_interval = 1\n')
    return config


def _newest_runroot(session):
    return session.listTasks(opts={'method': 'runroot'},
                             queryOpts={'order': '-id', 'limit': 1})[0]


@pytest.fixture
def runroot_user(devhub):
    devhub.add_user('rr-user', 'pw', perms=('runroot',))
    return 'rr-user', 'pw'


def test_koji_runroot_creates_task(devhub, runroot_user, tmp_path):
    config = _config(devhub, tmp_path)
    session = devhub.admin_session()
    user, password = runroot_user
    tag = unique('rr-build')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    command = ['--use-shell', tag, 'x86_64', 'echo hi;', 'uname -m']
    # a stock hub has no runroot channel: the admin makes one
    if session.getChannel('runroot') is None:
        rc, out = run_koji(devhub, config, 'runroot', '--nowait', *command, check=False,
                           user=user, password=password)
        assert rc != 0 and 'No such channel: runroot' in out
        session.addChannel('runroot')
    devhub.add_user('rr-nobody', 'pw')
    rc, out = run_koji(devhub, config, 'runroot', '--nowait', *command, check=False,
                       user='rr-nobody', password='pw')
    assert rc != 0 and 'runroot permission required (logged in as rr-nobody)' in out
    out = run_koji(devhub, config, 'runroot', '--nowait', '--task-id', '-p', 'bash', '-p',
                   'coreutils', '-m', '/mnt/koji/compose', '--skip-setarch', '-w', '3',
                   '--repo-id', '7', '--new-chroot', *command, user=user, password=password)
    task_id = int(out.strip())
    info = session.getTaskInfo(task_id, request=True)
    # the plugin's task: tag, arch and command, the CLI's options as keyword arguments
    assert info['request'] == [tag, 'x86_64', 'echo hi; uname -m',
                               {'packages': ['bash', 'coreutils'],
                                'mounts': ['/mnt/koji/compose'], 'repo_id': 7,
                                'skip_setarch': True, 'weight': 3, 'new_chroot': True,
                                '__starstar': True}]
    args, kwargs = koji.decode_args(*info['request'])
    assert kwargs['weight'] == 3 and args[2] == 'echo hi; uname -m'
    assert info['method'] == 'runroot' and info['arch'] == 'x86_64'
    assert info['priority'] == 15 and info['owner'] == session.getUser(user)['id']
    assert session.getChannel(info['channel_id'])['name'] == 'runroot'
    assert info['weight'] == 2.0
    # without --use-shell the CLI sends the command as a list: the current plugin wants a
    # string
    rc, out = run_koji(devhub, config, 'runroot', '--nowait', tag, 'x86_64', 'echo', 'hi',
                       check=False, user=user, password=password)
    assert rc != 0 and "Invalid type for value '['echo', 'hi']'" in out
    # --old-chroot, another channel
    out = run_koji(devhub, config, 'runroot', '--nowait', '--task-id', '--old-chroot',
                   '--channel-override', 'createrepo', '--use-shell', tag, 'x86_64', 'true',
                   user=user, password=password)
    info = session.getTaskInfo(int(out.strip()), request=True)
    assert info['request'][3] == {'packages': [], 'mounts': [], 'repo_id': None,
                                  'skip_setarch': False, 'weight': None, 'new_chroot': False,
                                  '__starstar': True}
    assert session.getChannel(info['channel_id'])['name'] == 'createrepo'


def test_runroot_refusals(devhub, runroot_user):
    session = devhub.admin_session()
    if session.getChannel('runroot') is None:
        session.addChannel('runroot')
    user = devhub.session(*runroot_user)
    tag = unique('rr-refuse')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    with pytest.raises(koji.ActionNotAllowed, match='runroot permission required'):
        devhub.session().runroot(tag, 'x86_64', 'true')
    with pytest.raises(koji.GenericError, match='No such tagInfo'):
        user.runroot(unique('nosuch'), 'x86_64', 'true')
    with pytest.raises(koji.GenericError, match='Architecture can be only'):
        user.runroot(tag, 'x86_64,aarch64', 'true')
    with pytest.raises(koji.GenericError, match='No such channel'):
        user.runroot(tag, 'x86_64', 'true', channel=unique('nochan'))
    with pytest.raises(koji.ParameterError, match='Invalid type for value'):
        user.runroot(tag, 'x86_64', ['true'])
    # the builder's options are not the hub's business
    task_id = user.runroot(tag, 'x86_64', 'true', upload_logs=['/tmp/x.log'], keep=True)
    assert session.getTaskRequest(task_id)[3] == {'upload_logs': ['/tmp/x.log'], 'keep': True,
                                                  '__starstar': True}


def test_runroot_noarch(devhub, runroot_user):
    session = devhub.admin_session()
    if session.getChannel('runroot') is None:
        session.addChannel('runroot')
    user = devhub.session(*runroot_user)
    # a host of the runroot channel with two arches (hosts of other channels count for
    # "every arch", not for the choice)
    devhub.add_host(unique('rr-host'), ['x86_64', 'aarch64'], 'pw', channels=('runroot',))
    devhub.add_host(unique('rr-other'), ['ppc64le'], 'pw')
    notag = unique('rr-noarches')
    session.createTag(notag)
    with pytest.raises(koji.GenericError, match='no arches defined for tag %s' % notag):
        user.runroot(notag, 'noarch', 'true')
    tag = unique('rr-aarch64')
    session.createTag(tag, arches='aarch64 s390x')
    task_id = user.runroot(tag, 'noarch', 'true')
    info = session.getTaskInfo(task_id, request=True)
    # the task gets an arch the tag has and a host of the channel has; the request keeps
    # noarch
    assert info['arch'] == 'aarch64' and info['request'][1] == 'noarch'
    ppc = unique('rr-ppc')
    session.createTag(ppc, arches='ppc64le')
    with pytest.raises(koji.GenericError, match='no common arches for tag/channel: %s/runroot'
                       % ppc):
        user.runroot(ppc, 'noarch', 'true')
    # a tag with every arch the hosts have: noarch stays
    every = unique('rr-every')
    session.createTag(every, arches=' '.join(session.getAllArches()))
    assert session.getTaskInfo(user.runroot(every, 'noarch', 'true'))['arch'] == 'noarch'


def _run_cli(devhub, config, user, password, *args):
    proc = subprocess.Popen([koji_cli()] + devhub.koji_cli_args(config, user, password)
                            + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return proc


def _wait_for_task(session, after, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = _newest_runroot(session)
        if task['id'] > after:
            return task['id']
        time.sleep(0.2)
    raise TimeoutError('no runroot task')


def _play_runroot(devhub, builder, task_id, log, ok):
    """The builder's side as kojid's RunRootTask reports it: runroot.log uploaded, then
    closed with "<cmd> completed successfully" or failed with a BuildrootError."""
    builder.take(task_id)
    uploadpath = koji.pathinfo.taskrelpath(task_id)
    builder.session.rawUpload(log, 0, uploadpath, 'runroot.log', overwrite=True)
    if ok:
        builder.session.host.closeTask(task_id, response('echo completed successfully'))
    else:
        builder.session.host.failTask(task_id, fault_response(
            koji.BuildrootError, 'echo exited with status 3'))


@pytest.mark.parametrize('ok', [True, False])
def test_koji_runroot_waits_and_prints_log(devhub, runroot_user, make_builder, tmp_path, ok):
    config = _config(devhub, tmp_path)
    session = devhub.admin_session()
    if session.getChannel('runroot') is None:
        session.addChannel('runroot')
    tag = unique('rr-wait')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    builder = make_builder()
    session.addHostToChannel(builder.name, 'runroot')
    last = _newest_runroot(session)['id'] if session.listTasks(
        opts={'method': 'runroot'}) else 0
    proc = _run_cli(devhub, config, *runroot_user, 'runroot', '--use-shell', tag, 'x86_64',
                    'echo hi; exit 3' if not ok else 'echo hi')
    try:
        task_id = _wait_for_task(session, last)
        _play_runroot(devhub, builder, task_id, b'hi\nfrom the buildroot\n', ok)
        out, _err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 'hi\nfrom the buildroot\n' in out
    assert proc.returncode == (0 if ok else 1)


def test_koji_runroot_watch(devhub, runroot_user, make_builder, tmp_path):
    config = _config(devhub, tmp_path)
    session = devhub.admin_session()
    if session.getChannel('runroot') is None:
        session.addChannel('runroot')
    tag = unique('rr-watch')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    builder = make_builder()
    session.addHostToChannel(builder.name, 'runroot')
    last = _newest_runroot(session)['id'] if session.listTasks(
        opts={'method': 'runroot'}) else 0
    proc = _run_cli(devhub, config, *runroot_user, 'runroot', '--watch', '--use-shell', tag,
                    'x86_64', 'echo hi')
    try:
        task_id = _wait_for_task(session, last)
        threading.Timer(1.5, _play_runroot, (devhub, builder, task_id, b'hi\n', True)).start()
        out, _err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert re.search(r'%d runroot \(x86_64\): \w+ -> closed' % task_id, out), out
    assert '%d runroot (x86_64) completed successfully' % task_id in out
    # --watch prints the task's progress, not the log
    assert 'hi\n' not in out


def test_runroot_plugin_options(tmp_path):
    """serve --no-runroot: no runroot call, as a hub without the plugin; serve
    --runroot-channel/--runroot-accept-list: the default channel, list commands."""
    with DevHub(topdir=str(tmp_path / 'noplugin'), scheduler_interval=0,
                extra_args=['--no-runroot']) as hub:
        hub.add_user('rr', 'pw', perms=('runroot',))
        hub.make_tag_with_repo('rr-tag', ['x86_64'])
        assert 'runroot' not in hub.admin_session().system.listMethods()
        config = _config(hub, tmp_path)
        rc, out = run_koji(hub, config, 'runroot', '--use-shell', 'rr-tag', 'x86_64', 'true',
                           check=False, user='rr', password='pw')
        assert rc != 0 and 'The runroot plugin appears to not be installed' in out
        assert 'Invalid method: runroot' in out
    with DevHub(topdir=str(tmp_path / 'options'), scheduler_interval=0,
                extra_args=['--runroot-channel', 'compose', '--runroot-accept-list']) as hub:
        hub.add_user('rr', 'pw', perms=('runroot',))
        hub.make_tag_with_repo('rr-tag', ['x86_64'])
        session = hub.admin_session()
        session.addChannel('compose')
        config = _config(hub, tmp_path)
        out = run_koji(hub, config, 'runroot', '--nowait', '--task-id', 'rr-tag', 'x86_64',
                       'echo', 'hi there', user='rr', password='pw')
        info = session.getTaskInfo(int(out.strip()), request=True)
        assert info['request'][2] == ['echo', 'hi there']
        assert session.getChannel(info['channel_id'])['name'] == 'compose'
