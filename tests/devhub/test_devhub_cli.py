"""The real ``koji`` CLI against the dev hub, persistence across restarts,
``koji-adjutant-devhub init``."""

import subprocess
import sys

import koji

from devhub_helpers import response, run_koji
from koji_adjutant_devhub.testing import REPO_ROOT, DevHub, subprocess_env


def test_koji_cli_call_and_taskinfo(devhub, make_builder, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    out = run_koji(devhub, config, 'moshimoshi')
    assert 'kojiadmin' in out
    out = run_koji(devhub, config, 'call', '--python', 'makeTask', "'sleep'", '[1]')
    task_id = int(out.strip())
    assert devhub.task_info(task_id)['method'] == 'sleep'
    builder = make_builder()
    builder.take(task_id)
    builder.session.rawUpload(b'slept\n', 0, koji.pathinfo.taskrelpath(task_id), 'sleep.log',
                              overwrite=True)
    builder.session.host.closeTask(task_id, response(None))
    out = run_koji(devhub, config, 'taskinfo', '-v', str(task_id))
    assert 'Type: sleep' in out
    assert 'State: closed' in out
    assert 'Host: %s' % builder.name in out
    assert 'sleep.log' in out
    out = run_koji(devhub, config, 'list-hosts')
    assert builder.name in out
    out = run_koji(devhub, config, 'call', '--json-output', 'getTaskResult', str(task_id))
    assert out.strip() == 'null'


def test_state_survives_restart(tmp_path):
    hub = DevHub(topdir=str(tmp_path / 'koji'), scheduler_interval=0)
    try:
        hub.add_host('keeper', ['x86_64'], 'pw')
        task_id = hub.make_task('sleep', [3])
        repo = hub.make_tag_with_repo('keep-build', ['x86_64'])
        old_session = hub.admin_session()
        hub.restart()
        session = hub.admin_session()
        assert session.getTaskInfo(task_id)['method'] == 'sleep'
        assert session.getTaskRequest(task_id) == [3]
        assert session.getHost('keeper')['arches'] == 'x86_64'
        assert session.repoInfo(repo['id'])['state'] == koji.REPO_READY
        # sessions are in the database too
        assert old_session.getLoggedInUser()['name'] == 'kojiadmin'
        builder = hub.host_session('keeper', 'pw')
        builder.host.updateHost(0.0, True)
        assert [t['id'] for t in builder.host.getTasks()] == [task_id]
        assert session.getLastEvent()['id'] > repo['create_event']
    finally:
        hub.stop()


def test_devhub_init_is_idempotent(tmp_path):
    topdir = str(tmp_path / 'koji')
    env = subprocess_env()
    cmd = [sys.executable, '-m', 'koji_adjutant_devhub', 'init', '--topdir', topdir,
           '--admin', 'root:rootpw', '--user', 'dev:devpw', '--host', 'b1:b1pw:x86_64,aarch64',
           '--tag', 'f40-build:x86_64,aarch64', '--tag', 'f40:x86_64',
           '--target', 'f40-candidate:f40-build:f40', '--make-repo', 'f40-build']
    for dummy in range(2):
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                              universal_newlines=True, env=env, cwd=REPO_ROOT, timeout=120)
        assert proc.returncode == 0, proc.stdout
    assert 'repo 1 for f40-build' in proc.stdout
    with DevHub(topdir=topdir, admin=('root', 'rootpw')) as hub:
        session = hub.admin_session()
        assert session.getPerms() == ['admin']
        assert hub.session('dev', 'devpw').getPerms() == []
        host = session.getHost('b1')
        assert host['arches'] == 'x86_64 aarch64'
        assert session.getBuildTarget('f40-candidate')['build_tag_name'] == 'f40-build'
        repo = session.getRepo('f40-build')
        assert repo['id'] == 1 and repo['state'] == koji.REPO_READY
        assert session.getActiveRepos()[0]['id'] == 1
        builder = hub.host_session('b1', 'b1pw')
        assert builder.host.getID() == host['id']
