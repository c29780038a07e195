"""The playbook server: task playbooks started from a pre-warmed ansible-playbook."""

import os
import signal
import subprocess
import sys
import time

import pytest

from koji_adjutant.worker import daemon
from koji_adjutant.worker import playbook_client
from koji_adjutant.worker import playbook_server

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "probe={{ lookup('env', 'PROBE') }} in {{ lookup('pipe', 'pwd') }}"
    - ansible.builtin.pause:
        seconds: "{{ pause_seconds | default(0) | int }}"
    - ansible.builtin.fail:
        msg: asked to fail
      when: fail | default(false) | bool
"""


def environment(**extra):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.update(extra)
    return env


@pytest.fixture
def server(tmp_path):
    proc, client = playbook_server.start(str(tmp_path / "state"), environment(),
                                         str(tmp_path / "server.log"))
    yield client
    playbook_server.stop(proc)


@pytest.fixture
def playbook(tmp_path):
    # in a directory of its own, as a task playbook's arguments name its run's directory
    path = tmp_path / "run" / "probe-playbook.yml"
    path.parent.mkdir()
    path.write_text(PLAYBOOK)
    return str(path)


def run(client, playbook, *args, **env):
    return subprocess.run([client, "-i", "localhost,", playbook] + list(args),
                          env=environment(**env), cwd="/tmp", capture_output=True, text=True,
                          check=False, timeout=120)


def processes_naming(marker):
    """{pid: parent's command line} of the processes whose command line names ``marker``."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read()
            with open("/proc/%s/stat" % pid) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%d/cmdline" % ppid, "rb") as handle:
                parent = handle.read()
        except (OSError, ValueError):
            continue
        if marker.encode() in cmdline:
            found[int(pid)] = parent
    return found


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def test_a_playbook_runs_with_the_clients_environment_directory_and_exit_code(server, playbook):
    done = run(server, playbook, PROBE="value")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "probe=value in /tmp" in done.stdout
    assert "playbook server" not in done.stderr

    failed = run(server, playbook, "-e", "fail=true")
    assert failed.returncode == 2
    assert "asked to fail" in failed.stdout


def test_the_playbook_is_forked_from_the_server_and_named_by_the_clients_command_line(
        server, playbook, tmp_path):
    client = subprocess.Popen([server, "-i", "localhost,", playbook, "-e", "pause_seconds=60"],
                              env=environment(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # the client, the playbook process and its task worker all name the playbook
        found = wait_for(lambda: len(processes_naming(playbook)) >= 3 and processes_naming(
            playbook), 30, "the playbook and its task worker")
        playbook_pids = [pid for pid, parent in found.items()
                         if b"koji_adjutant.worker.playbook_server" in parent]
        assert len(playbook_pids) == 1
    finally:
        # as ansible-runner stops a run: the client's process group is killed
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    # the server kills the playbook process; a task worker still running (a session of its
    # own; it may also have gone with its playbook already) is found by its command line, as
    # the daemon finds a stopped run's processes
    wait_for(lambda: playbook_pids[0] not in processes_naming(playbook), 10,
             "the playbook to be killed with its client")
    daemon.kill_orphan_playbooks(str(tmp_path / "run"), "the test")
    wait_for(lambda: not processes_naming(playbook), 10, "the task workers to be killed")


def test_without_a_server_the_client_runs_ansible_playbook_itself(tmp_path, playbook):
    client = tmp_path / "ansible-playbook"
    client.write_text(playbook_client.script(
        sys.executable, str(tmp_path / "no-server"),
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook")))
    client.chmod(0o755)
    done = run(str(client), playbook, PROBE="alone")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "probe=alone in /tmp" in done.stdout
    assert "playbook server not reachable" in done.stderr


def test_a_setting_other_than_the_servers_runs_the_real_ansible_playbook(server, playbook):
    done = run(server, playbook, ANSIBLE_TIMEOUT="99", PROBE="other")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "probe=other in /tmp" in done.stdout
    assert "Ansible setting DEFAULT_TIMEOUT differs from the server's" in done.stderr


def test_a_playbook_leaves_the_servers_temporary_directory_alone(server, playbook):
    state = os.path.dirname(server)
    pid = wait_for(lambda: os.path.exists(os.path.join(state, "pid")) and open(
        os.path.join(state, "pid")).read().strip(), 30, "the server")
    local_tmp = os.path.expanduser("~/.ansible/tmp")

    def servers_own():
        return [name for name in os.listdir(local_tmp)
                if name.startswith("ansible-local-%s" % pid)]

    # the server has read Ansible's settings (and made its temporary directory) once it
    # has served a playbook
    assert run(server, playbook).returncode == 0
    before = servers_own()
    assert before
    assert run(server, playbook).returncode == 0
    assert servers_own() == before


def test_per_run_settings_do_not_leave_the_warm_path(server, playbook, tmp_path):
    done = run(server, playbook, ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "playbook server" not in done.stderr


def test_a_stale_server_is_stopped_when_a_new_one_starts(tmp_path):
    state = str(tmp_path / "state")
    first, client = playbook_server.start(state, environment(), str(tmp_path / "one.log"))
    try:
        wait_for(lambda: os.path.exists(os.path.join(playbook_server.server_dir(state), "pid")),
                 30, "the first server")
        second, client = playbook_server.start(state, environment(), str(tmp_path / "two.log"))
        try:
            assert first.wait(10) is not None
        finally:
            playbook_server.stop(second)
    finally:
        playbook_server.stop(first)


PROBE_CALLBACK = '''
from ansible import constants
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Says which plugins' configuration definitions the playbook process has when its
    playbook starts."""
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "definitions_probe"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_start(self, playbook):
        names = dict((kind, sorted(defs)) for kind, defs in constants.config._plugins.items())
        self._display.display("definitions at start: %s" % (names,))
'''


def test_the_server_primes_what_each_playbook_parsed_again(tmp_path, playbook):
    callbacks = tmp_path / "callbacks"
    callbacks.mkdir()
    (callbacks / "definitions_probe.py").write_text(PROBE_CALLBACK)
    env = {"ANSIBLE_CALLBACK_PLUGINS": str(callbacks)}
    proc, client = playbook_server.start(str(tmp_path / "state"), environment(**env),
                                         str(tmp_path / "server.log"))
    try:
        warm = run(client, playbook, **env)
    finally:
        playbook_server.stop(proc)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    assert "playbook server" not in warm.stderr
    assert "not primed" not in (tmp_path / "server.log").read_text()
    # a playbook of the server starts with the definitions the server parsed once, those of
    # every inventory plugin among them (this playbook loads two: a plain ansible-playbook
    # parses the documentation of these two only, and the server's playbook none)
    warm_line = [text for text in warm.stdout.splitlines() if "definitions at start" in text]
    assert "'constructed'" in warm_line[0] and "'local'" in warm_line[0]
    plain = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                            "-i", "localhost,", playbook], env=environment(**env),
                           capture_output=True, text=True, check=False, timeout=120)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    plain_line = [text for text in plain.stdout.splitlines() if "definitions at start" in text]
    assert "'constructed'" not in plain_line[0] and "'local'" in plain_line[0]


def test_primed_routing_tables_are_ansibles_own_and_other_text_is_parsed():
    from ansible.utils.collection_loader import _collection_finder

    original = _collection_finder._meta_yml_to_dict
    try:
        playbook_server._prime_routing_tables()
        primed = _collection_finder._meta_yml_to_dict
        assert primed is not original
        table = os.path.join(os.path.dirname(_collection_finder.__file__), "..", "..", "config",
                             "ansible_builtin_runtime.yml")
        with open(table, "rb") as handle:
            text = handle.read()
        content_id = ("ansible.builtin", "runtime.yml")
        assert primed(text, content_id) is primed(text, content_id)
        assert primed(text, content_id) == original(text, content_id)
        # another text under the same name (a file changed since) is parsed
        assert primed(b"plugin_routing: {}\n", content_id) == {"plugin_routing": {}}
        # priming twice does not wrap the hook twice
        playbook_server._prime_routing_tables()
        assert _collection_finder._meta_yml_to_dict is primed
    finally:
        _collection_finder._meta_yml_to_dict = original


def test_the_client_imports_neither_ansible_nor_the_worker_package(tmp_path):
    text = playbook_client.script(sys.executable, str(tmp_path / "no-server"), "/bin/false")
    assert text.startswith("#!%s -IS\n" % sys.executable)
    # what the client has imported when it connects (its last line)
    imports = text.rsplit("raise SystemExit", 1)[0] + "print(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-IS", "-c", imports], env=environment(),
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    imported = done.stdout.split()
    assert "playbook_client" in imported and "module_server" in imported
    assert not [name for name in imported if name.split(".")[0] in (
        "ansible", "ansible_collections", "koji_adjutant", "koji", "site")]
