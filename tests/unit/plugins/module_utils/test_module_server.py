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


def run(directory, payload, env=None, cwd="/", bytecode_dir=None):
    sock = module_server.connect(directory, sys.executable)
    return module_server.run_module(sock, payload.encode(), env or dict(os.environ), cwd,
                                    bytecode_dir=bytecode_dir)


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


@pytest.fixture
def template(tmp_path):
    directory = str(tmp_path / "template")
    proc = module_server.start_template(directory, str(tmp_path / "template.log"))
    yield directory, proc
    module_server.stop_process(proc)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        return [arg.decode() for arg in handle.read().split(b"\0") if arg]


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()


def test_a_server_forked_from_the_template_runs_modules_named_by_its_directory(
        template, tmp_path):
    template_dir, template_proc = template
    directory = str(tmp_path / "run" / "server")
    try:
        # no interpreter started: the template forks the server (while it still imports,
        # the client waits)
        assert module_server.start(directory, sys.executable, template=template_dir) is None
        payload = "import os, sys\nprint('koji' in sys.modules, os.environ['PROBE'])\n"
        assert run(directory, payload, env={"PROBE": "x"}) == (0, b"True x\n", b"")
        pid = server_pid(directory)
        assert pid != template_proc.pid
        # as a server started fresh: its command line names its directory (the daemon finds
        # a stopped playbook's processes by that), in a session of its own
        script = os.path.splitext(module_server.__file__)[0] + ".py"
        assert cmdline(pid) == [sys.executable, script, directory]
        fields = stat_fields(pid)
        assert int(fields[1]) == template_proc.pid
        assert int(fields[3]) == pid
        # and it serves like one: stopped by stop_servers, the template goes on
        assert module_server.stop_servers(str(tmp_path / "run")) == [pid]
        deadline = time.time() + 10
        while alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        assert not alive(pid)
        assert template_proc.poll() is None
        other = str(tmp_path / "run2" / "server")
        assert module_server.start(other, sys.executable, template=template_dir) is None
        assert run(other, "print('again')\n") == (0, b"again\n", b"")
    finally:
        module_server.stop_servers(str(tmp_path / "run"))
        module_server.stop_servers(str(tmp_path / "run2"))


def test_without_a_usable_template_the_server_starts_an_interpreter(template, tmp_path):
    template_dir = template[0]
    cases = [(str(tmp_path / "no-template"), sys.executable, "No such file"),
             (template_dir, os.path.realpath(sys.executable) + "-other", "the template runs")]
    for number, (where, interpreter, reason) in enumerate(cases):
        directory = str(tmp_path / ("fallback%d" % number))
        # another interpreter: only its name differs here, the server is this interpreter
        os.symlink(sys.executable, str(tmp_path / ("python%d" % number)))
        proc = module_server.start(directory, interpreter if number == 0 else
                                   str(tmp_path / ("python%d" % number)), template=where)
        try:
            assert proc is not None
            assert run(directory, "print('fresh')\n") == (0, b"fresh\n", b"")
            assert server_pid(directory) == proc.pid
            with open(os.path.join(directory, module_server.LOG_NAME)) as log:
                assert reason in log.read()
        finally:
            proc.terminate()
            proc.wait(10)


def test_a_stale_template_is_stopped_when_a_new_one_starts(tmp_path):
    directory = str(tmp_path / "template")
    first = module_server.start_template(directory, str(tmp_path / "one.log"))
    try:
        os.close(module_server.lock(directory))  # it listens (and wrote its pid)
        second = module_server.start_template(directory, str(tmp_path / "two.log"))
        try:
            assert first.wait(10) == 0
            os.close(module_server.lock(directory))
            assert server_pid(directory) == second.pid
        finally:
            module_server.stop_process(second)
    finally:
        module_server.stop_process(first)


# a payload as AnsiballZ's: a zip of sources (here one module) imported from a new path
ZIP_PAYLOAD = """
import os, sys, tempfile, zipfile
path = os.path.join(tempfile.mkdtemp(), "probe_payload.zip")
with zipfile.ZipFile(path, "w") as payload:
    payload.writestr("probe_mod.py", %r)
sys.path.insert(0, path)
import probe_mod
print(probe_mod.VALUE, probe_mod.where.__code__.co_filename == os.path.join(path, "probe_mod.py"))
"""


def test_code_compiled_from_a_payload_is_kept_for_the_next_call_of_the_same_source(
        server_dir, tmp_path):
    import marshal

    kept = tmp_path / "bytecode"
    source = "VALUE = 'compiled'\ndef where():\n    pass\n"
    assert run(server_dir, ZIP_PAYLOAD % source, bytecode_dir=str(kept)) == (
        0, b"compiled True\n", b"")
    entries = os.listdir(str(kept))
    assert len(entries) == 1
    # the next call of the same source (another zip, another path) loads the kept code,
    # here made recognisable, under its own path
    (kept / entries[0]).write_bytes(marshal.dumps(compile(
        "VALUE = 'kept'\ndef where():\n    pass\n", "/elsewhere/probe_mod.py", "exec")))
    assert run(server_dir, ZIP_PAYLOAD % source, bytecode_dir=str(kept)) == (
        0, b"kept True\n", b"")
    # another source is compiled (and kept beside), and so is an entry that cannot be read
    changed = source.replace("compiled", "changed")
    assert run(server_dir, ZIP_PAYLOAD % changed, bytecode_dir=str(kept)) == (
        0, b"changed True\n", b"")
    assert len(os.listdir(str(kept))) == 2
    for unusable in (b"not marshal data", marshal.dumps(42)):
        (kept / entries[0]).write_bytes(unusable)
        assert run(server_dir, ZIP_PAYLOAD % source, bytecode_dir=str(kept)) == (
            0, b"compiled True\n", b"")
    # without a directory nothing is kept
    assert run(server_dir, ZIP_PAYLOAD % source) == (0, b"compiled True\n", b"")
