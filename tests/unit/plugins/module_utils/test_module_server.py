"""The module server: modules run in processes forked from a pre-warmed interpreter."""

import os
import signal
import sys
import time

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_server


@pytest.fixture
def server_dir(tmp_path):
    # a long path: the socket address must not depend on sun_path's 108 bytes
    directory = tmp_path / ("d" * 120) / "server"
    yield str(directory)
    module_server.stop_servers(str(directory.parent))
    deadline = time.time() + 10
    while os.path.exists(str(directory / module_server.PID_NAME)) and time.time() < deadline:
        time.sleep(0.05)


def run(directory, payload, env=None, cwd="/"):
    sock = module_server.connect(directory, sys.executable)
    return module_server.run_module(sock, payload.encode(), env or dict(os.environ), cwd)


def server_pid(directory):
    with open(os.path.join(directory, module_server.PID_NAME)) as handle:
        return int(handle.read())


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_runs_a_payload_with_its_output_exit_status_environment_and_cwd(server_dir, tmp_path):
    payload = ("import os, sys\n"
               "print('out', os.environ['PROBE'], os.getcwd(), sys.argv)\n"
               "sys.stderr.write('err\\n')\n"
               "sys.exit(3)\n")
    rc, out, err = run(server_dir, payload, env={"PROBE": "value"}, cwd=str(tmp_path))
    assert rc == 3
    assert out.decode() == "out value %s %r\n" % (tmp_path, [sys.executable])
    assert err == b"err\n"


def test_one_server_serves_many_runs_with_koji_already_imported(server_dir):
    payload = "import sys\nprint('koji' in sys.modules, 'ansible.module_utils.basic' in sys.modules)\n"
    first = run(server_dir, payload)
    pid = server_pid(server_dir)
    second = run(server_dir, payload)
    assert first == second == (0, b"True True\n", b"")
    assert server_pid(server_dir) == pid


def test_an_exception_is_a_failure_with_its_traceback(server_dir):
    rc, out, err = run(server_dir, "raise RuntimeError('broken module')\n")
    assert rc == 1 and out == b""
    assert b"RuntimeError: broken module" in err


def test_large_output_comes_back_whole(server_dir):
    rc, out, dummy = run(server_dir, "import sys\nsys.stdout.write('x' * 3000000)\n")
    assert rc == 0 and len(out) == 3000000


def test_a_client_that_goes_away_stops_its_module_and_what_it_started(server_dir, tmp_path):
    marker = tmp_path / "child.pid"
    payload = ("import subprocess, time\n"
               "child = subprocess.Popen(['sleep', '300'])\n"
               "open(%r, 'w').write(str(child.pid))\n"
               "time.sleep(300)\n" % str(marker))
    sock = module_server.connect(server_dir, sys.executable)
    module_server._send_message(sock, {"env": dict(os.environ), "cwd": "/",
                                       "payload": len(payload)}, payload.encode())
    deadline = time.time() + 20
    while not marker.exists() or not marker.read_text():
        assert time.time() < deadline, "the module did not start"
        time.sleep(0.05)
    child = int(marker.read_text())
    assert alive(child)
    sock.close()
    deadline = time.time() + 10
    while alive(child):
        assert time.time() < deadline, "the module's child survived its client"
        time.sleep(0.05)


def test_stop_servers_ends_the_server_and_removes_its_socket(server_dir):
    run(server_dir, "pass\n")
    pid = server_pid(server_dir)
    assert module_server.stop_servers(os.path.dirname(server_dir)) == [pid]
    deadline = time.time() + 10
    while alive(pid) or os.path.exists(os.path.join(server_dir, module_server.SOCKET_NAME)):
        assert time.time() < deadline, "the server did not stop"
        time.sleep(0.05)
    # the next run starts a new one
    assert run(server_dir, "print(1)\n") == (0, b"1\n", b"")
    assert server_pid(server_dir) != pid


def test_a_server_that_cannot_start_is_an_error_before_anything_runs(tmp_path):
    missing = str(tmp_path / "no-such-python")
    with pytest.raises(module_server.ModuleServerError, match="cannot reach the module server"):
        module_server.connect(str(tmp_path / "server"), missing)


def test_the_server_exits_when_idle(tmp_path):
    directory = str(tmp_path / "idle")
    os.makedirs(directory)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        try:
            module_server.serve(directory, idle_timeout=0.5)
        finally:
            os._exit(0)
    deadline = time.time() + 30
    while os.waitpid(pid, os.WNOHANG)[0] == 0:
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the idle server did not exit")
        time.sleep(0.05)
    assert not os.path.exists(os.path.join(directory, module_server.SOCKET_NAME))


def test_one_server_directory_per_interpreter():
    first = module_server.server_directory("/run/x", "/usr/bin/python3")
    assert first == module_server.server_directory("/run/x", "/usr/bin/python3")
    assert first != module_server.server_directory("/run/x", "/opt/venv/bin/python")
    assert first.startswith("/run/x/")


def test_a_started_server_is_waited_for_not_started_twice(tmp_path):
    directory = str(tmp_path / "early")
    proc = module_server.start(directory, sys.executable)
    try:
        # at once, while it is still importing: the client waits for it instead of starting one
        assert run(directory, "print('early')\n") == (0, b"early\n", b"")
        assert module_server.start(directory, sys.executable) is None
        assert server_pid(directory) == proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def test_sigterm_while_serving_connections_stops_the_server(tmp_path):
    """SIGTERM that lands while the server forks a handler still stops it (a handler that
    raised would have its exception swallowed by Python's at-fork hooks)."""
    for attempt in range(8):
        directory = str(tmp_path / ("term%d" % attempt))
        proc = module_server.start(directory, sys.executable)
        try:
            module_server.connect(directory, sys.executable).close()  # wait until it serves
            for dummy in range(5):
                module_server.connect(directory, sys.executable).close()
            proc.terminate()
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not os.path.exists(os.path.join(directory, module_server.SOCKET_NAME))
