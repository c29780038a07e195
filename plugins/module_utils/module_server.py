# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pre-warmed Python interpreter that runs a task playbook's modules.

Each module call of a plain ``local`` connection starts a new interpreter that
imports koji, rpm and Ansible's module library before it does any work.  The
module server is one interpreter per task playbook that has imported those
libraries once; each module runs in a process forked from it, with the
module's own AnsiballZ payload, environment and working directory, as the
interpreter ``local`` would have started.

The ``koji_adjutant.builder.warm_local`` connection plugin is the client: it
starts the server on the first module call of a playbook (``python
module_server.py DIR``), hands it each pipelined module payload over the Unix
socket in ``DIR`` and returns the module's exit status, stdout and stderr.

Process model, so that stopping a task's playbook stops its modules as before:

* the server runs in a session of its own; its command line names ``DIR``
  (inside the task's private directory, where the worker daemon looks for the
  processes of a stopped playbook), and every process forked from it has the
  same command line;
* each request is served by a forked handler; the module runs in a process
  forked from the handler, in a process group of its own (with what it
  starts, such as ``podman exec``);
* when the client goes away (its playbook was killed) the handler kills the
  module's process group;
* SIGTERM, or ``idle_timeout`` seconds without a request, ends the server.

The worker daemon also keeps a **template** (``python module_server.py --template
DIR LOCK_FD ROOM``): one interpreter that has imported the same libraries and
starts no modules itself.  Asked to start the module server of a playbook's
directory, it forks one (its handler becomes the server: in a session of its
own, its command line rewritten to a fresh server's, so it names the
playbook's directory as before), which saves each playbook the 0.3 s of CPU an
interpreter spends importing them.  A template that cannot be reached, or that
runs another interpreter than the one asked for, is passed over: the server is
started fresh.  The template ends with the daemon that started it.

This file is also run as a script (the server), so it imports nothing outside
the standard library.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import gc
import hashlib
import io
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

SOCKET_NAME = "socket"
LOCK_NAME = "lock"
LOG_NAME = "server.log"
PID_NAME = "pid"
IDLE_TIMEOUT = 300.0
TEMPLATE_OPTION = "--template"
# room kept in a template's (and the playbook server's) command line for the command line of
# a process forked from it
COMMAND_LINE_ROOM = 8192
START_TIMEOUT = 30.0
# What koji_adjutant modules import; importing it once is the point of the server.
PRELOAD = (
    "koji",
    "koji.tasks",
    "rpm",
    "ansible.module_utils.basic",
    "ansible.module_utils._internal._ansiballz._loader",
    "base64",
    "shutil",
    "tempfile",
    "zipfile",
)
_HEADER = struct.Struct("!I")
_MAX_HEADER = 64 * 1024 * 1024


class ModuleServerError(Exception):
    """The module server cannot be started or reached; nothing was run."""


# -- framing: a length-prefixed JSON header, then the bytes it announces -------
def _send_message(sock, header, *blobs):
    data = json.dumps(header).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data + b"".join(blobs))


def _recv_exactly(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the peer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv_message(sock):
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    if size > _MAX_HEADER:
        raise ValueError("message header of %d bytes" % size)
    return json.loads(_recv_exactly(sock, size).decode("utf-8"))


def _socket_address(directory_fd):
    """A socket address short enough for any directory (``sun_path`` has 108 bytes)."""
    return "/proc/self/fd/%d/%s" % (directory_fd, SOCKET_NAME)


def _open_dir(directory):
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY)


# (public names: the worker's playbook server speaks the same framing)
send_message = _send_message
recv_message = _recv_message


# -- the client (the warm_local connection plugin, and the daemon's early start) --
def server_directory(root, interpreter):
    """The directory of the module server of ``interpreter`` under ``root`` (one each)."""
    digest = hashlib.sha256(interpreter.encode("utf-8", "surrogateescape")).hexdigest()
    return os.path.join(root, digest[:12])


def _connect(directory):
    dir_fd = _open_dir(directory)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(_socket_address(dir_fd))
        except OSError:
            sock.close()
            raise
        return sock
    finally:
        os.close(dir_fd)


def _lock(directory, timeout):
    """The directory's lock file descriptor, locked (held by a server until it listens)."""
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.time() > deadline:
                os.close(fd)
                raise ModuleServerError("the module server in %s did not start within %d s"
                                        % (directory, timeout))
            time.sleep(0.01)


def _script():
    return os.path.splitext(os.path.abspath(__file__))[0] + ".py"


def start(directory, interpreter, template=None):
    """Start the module server of ``directory`` unless one runs or is starting.

    With ``template`` (the directory of a running template) the server is
    forked from the template when it runs ``interpreter``; otherwise, or when
    the template cannot do it, a new interpreter is started.  Returns the new
    interpreter's Popen, else None (a server forked from the template, or one
    already running or starting).  It does not wait for the server: the
    directory's lock stays held by the server until its socket listens, so
    :func:`connect` waits for that (connections made meanwhile wait in the
    socket's backlog).
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = _lock(directory, START_TIMEOUT)
    try:
        try:
            _connect(directory).close()
            return None
        except OSError:
            pass
        with open(os.path.join(directory, LOG_NAME), "ab") as log:
            if template is not None:
                try:
                    _start_from_template(template, directory, interpreter, fd, log.fileno())
                    return None
                except (OSError, EOFError, ValueError, KeyError, ModuleServerError) as exc:
                    log.write(b"module server: not started from the template %s: %s\n"
                              % (os.fsencode(template), str(exc).encode("utf-8", "replace")))
                    log.flush()
            return subprocess.Popen([interpreter, _script(), directory, str(fd)], pass_fds=(fd,),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, cwd="/")
    finally:
        os.close(fd)


def _start_from_template(template, directory, interpreter, lock_fd, log_fd):
    """Have the template fork the server of ``directory``; its pid."""
    try:
        sock = _connect(template)
    except OSError:
        # starting: its lock is held until it listens
        os.close(_lock(template, START_TIMEOUT))
        sock = _connect(template)
    with sock:
        socket.send_fds(sock, [b"\0"], [lock_fd, log_fd])
        _send_message(sock, {"directory": directory, "interpreter": interpreter})
        reply = _recv_message(sock)
    if "pid" not in reply:
        raise ModuleServerError(reply.get("error") or "no server started")
    return reply["pid"]


def start_template(directory, log_path):
    """Start a template (this interpreter) in ``directory``; returns its Popen.

    A template a killed daemon left behind is stopped first.  Module servers can
    be started from it at once: :func:`start` waits for it while it imports.
    """
    return start_long_lived(directory, TEMPLATE_OPTION,
                            [sys.executable, _script(), TEMPLATE_OPTION], log_path)


def start_long_lived(directory, marker, command, log_path, env=None):
    """Start one of the worker daemon's own servers (a template, the playbook server):
    ``command DIR LOCK_FD ROOM``, in a session of its own, with ``COMMAND_LINE_ROOM``
    bytes of spare command line for what it forks.  One that a killed daemon left in
    ``directory`` (its command line names ``marker``) is stopped first.  Returns its Popen;
    ``directory``'s lock is held by it until it listens."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    stop_stale(directory, marker)
    lock_fd = _lock(directory, START_TIMEOUT)
    try:
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                list(command) + [directory, str(lock_fd), " " * COMMAND_LINE_ROOM],
                pass_fds=(lock_fd,), env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=log, start_new_session=True, cwd="/")
    finally:
        os.close(lock_fd)


def stop_stale(directory, marker, timeout=10.0):
    """Stop a server that a killed daemon left behind in ``directory``: its pid file names
    it, and its command line must name ``marker`` and ``directory`` too (or the pid is
    another process's now).  SIGTERM, then SIGKILL after ``timeout``; it has gone (and
    cleaned up after itself) on return.  Returns its pid, or None."""
    try:
        with open(os.path.join(directory, PID_NAME)) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().split(b"\0")
    except (OSError, ValueError):
        return None
    if os.fsencode(marker) not in cmdline or os.fsencode(directory) not in cmdline:
        return None
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except OSError:
            break
        if not wait_ended([pid], timeout):
            break
    return pid


def wait_ended(pids, timeout):
    """Wait up to ``timeout`` seconds for the processes ``pids`` to end; those still
    running."""
    deadline = time.time() + timeout
    running = [pid for pid in pids if process_running(pid)]
    while running and time.time() < deadline:
        time.sleep(0.05)
        running = [pid for pid in running if process_running(pid)]
    return running


def process_running(pid):
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_process(proc, timeout=10.0):
    """SIGTERM a server the caller started (its Popen), then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def connect_running(directory):
    """A socket to the server of ``directory`` if one listens (OSError otherwise)."""
    return _connect(directory)


def lock(directory, timeout=START_TIMEOUT):
    """Wait for ``directory``'s lock (held while its server starts); returns it locked."""
    return _lock(directory, timeout)


def connect(directory, interpreter):
    """A socket to the module server of ``directory``, started when needed.

    Raises :class:`ModuleServerError` when no server can be had; nothing has
    been run then, so the caller can run the module another way.
    """
    try:
        try:
            return _connect(directory)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                raise
        start(directory, interpreter)
        os.close(_lock(directory, START_TIMEOUT))
        return _connect(directory)
    except OSError as exc:
        raise ModuleServerError("cannot reach the module server in %s: %s (see %s)"
                                % (directory, exc, os.path.join(directory, LOG_NAME)))


def run_module(sock, payload, env, cwd, bytecode_dir=None):
    """Run one pipelined module payload; returns ``(rc, stdout, stderr)``, bytes.

    ``bytecode_dir``: where the module process keeps the code it compiles from the payload
    (see ``use_bytecode_dir``)."""
    with sock:
        _send_message(sock, {"env": env, "cwd": cwd, "payload": len(payload),
                             "bytecode_dir": bytecode_dir}, payload)
        reply = _recv_message(sock)
        stdout = _recv_exactly(sock, reply["stdout"])
        stderr = _recv_exactly(sock, reply["stderr"])
    return reply["rc"], stdout, stderr


def stop_servers(root):
    """SIGTERM the module servers under ``root`` (one directory each); returns their pids."""
    stopped = []
    try:
        names = os.listdir(root)
    except OSError:
        return stopped
    for name in names:
        try:
            with open(os.path.join(root, name, PID_NAME)) as handle:
                pid = int(handle.read().strip())
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
        except (OSError, ValueError):
            continue
    return stopped


# -- the server ----------------------------------------------------------------
def _exit_status(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else 1


def _run_payload(payload):
    """In the module's process: run the AnsiballZ payload as ``python`` runs its stdin."""
    code = 0
    try:
        exec(compile(payload, "<stdin>", "exec"),  # pylint: disable=exec-used
             {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            sys.stderr.write("%s\n" % (exc.code,))
            code = 1
    except BaseException:  # pylint: disable=broad-except
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pylint: disable=broad-except
            pass
    return code


def use_bytecode_dir(directory):
    """Keep the code that Python compiles from a payload's zip in ``directory``.

    Python imports a module and its module_utils from the AnsiballZ payload's zip, which
    holds sources only, and compiles them again in every module call (about 0.04 s of CPU per
    buildArch). Here the code compiled from a source is kept under a hash of the
    interpreter's bytecode magic, the path inside the zip and the source itself, so that
    another call of the same source, from any playbook, loads it instead (a changed source
    is another entry; an entry that cannot be read is compiled again). The code takes the
    path of the zip it is imported from, as compiled code would."""
    import importlib.util
    import marshal
    import types
    import zipimport

    compile_source = zipimport._compile_source  # pylint: disable=protected-access
    if getattr(compile_source, "bytecode_dir", None) is not None:
        compile_source = compile_source.compile_source
    magic = importlib.util.MAGIC_NUMBER

    def with_filename(code, filename):
        if code.co_filename == filename:
            return code
        consts = tuple(with_filename(const, filename) if isinstance(const, types.CodeType)
                       else const for const in code.co_consts)
        return code.replace(co_filename=filename, co_consts=consts)

    def compile_kept(pathname, source):
        inner = pathname.split(".zip" + os.sep, 1)[-1]
        digest = hashlib.sha256(magic + inner.encode("utf-8", "surrogateescape") + b"\0"
                                + bytes(source)).hexdigest()
        path = os.path.join(directory, digest)
        try:
            with open(path, "rb") as handle:
                code = marshal.load(handle)
            if isinstance(code, types.CodeType):
                return with_filename(code, pathname)
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile_source(pathname, source)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            part = "%s.%d.part" % (path, os.getpid())
            with open(part, "wb") as handle:
                marshal.dump(code, handle)
            os.rename(part, path)
        except OSError:
            pass
        return code

    compile_kept.bytecode_dir = directory
    compile_kept.compile_source = compile_source
    zipimport._compile_source = compile_kept  # pylint: disable=protected-access


def _start_module(request, payload, out_w, err_w, inherited_fds):
    """Fork the module's process (a process group of its own); returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in inherited_fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_w, err_w):
            os.close(fd)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"] or "/")
        if request.get("bytecode_dir"):
            use_bytecode_dir(request["bytecode_dir"])
        # as "python" with the payload on stdin: the wrapper reads one argument as a debug verb
        sys.argv = [sys.executable]
        code = _run_payload(payload)
    finally:
        os._exit(code & 0xff)  # pylint: disable=protected-access


def _serve_request(conn, inherited_fds):
    """In a handler process: run one module and send back what it did."""
    try:
        request = _recv_message(conn)
    except EOFError:
        return  # a client that only checked that the server is up
    payload = _recv_exactly(conn, request["payload"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = _start_module(request, payload, out_w, err_w,
                        list(inherited_fds) + [conn.fileno(), out_r, err_r])
    os.close(out_w)
    os.close(err_w)
    output = {out_r: [], err_r: []}
    open_fds = [out_r, err_r]
    while open_fds:
        readable = select.select(open_fds + [conn.fileno()], [], [])[0]
        if conn.fileno() in readable and not conn.recv(1, socket.MSG_PEEK):
            # the playbook went away (stopped or killed): stop its module
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        for fd in readable:
            if fd in output:
                data = os.read(fd, 1 << 16)
                if data:
                    output[fd].append(data)
                else:
                    open_fds.remove(fd)
    status = os.waitpid(pid, 0)[1]
    stdout, stderr = b"".join(output[out_r]), b"".join(output[err_r])
    _send_message(conn, {"rc": _exit_status(status), "stdout": len(stdout),
                         "stderr": len(stderr)}, stdout, stderr)


def set_command_line(argv):
    """Make /proc/self/cmdline read ``argv``: written over this process's own argument area
    (a template was started with ``COMMAND_LINE_ROOM`` bytes of it to spare)."""
    with open("/proc/self/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    start_address, end_address = int(fields[45]), int(fields[46])
    data = b"\0".join(os.fsencode(arg) for arg in argv) + b"\0"
    if len(data) > end_address - start_address:
        raise ValueError("a command line of %d bytes (room for %d)"
                         % (len(data), end_address - start_address))
    with open("/proc/self/mem", "r+b", buffering=0) as memory:
        memory.seek(start_address)
        memory.write(data.ljust(end_address - start_address, b"\0"))


def exit_with_parent():
    """This process is sent SIGTERM when its parent goes (also when it is killed)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _serve_template_request(conn, inherited_fds):
    """In a template's handler process: become the module server a client asks for."""
    try:
        fds = socket.recv_fds(conn, 1, 2)[1]
    except (OSError, EOFError):
        return
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        return  # a client that only checked that the template is up
    lock_fd, log_fd = fds
    request = _recv_message(conn)
    directory = request["directory"]
    if request.get("interpreter") != sys.executable:
        _send_message(conn, {"error": "the template runs %s, not %s"
                             % (sys.executable, request.get("interpreter"))})
        return
    try:
        os.setsid()
        # as a server started by start(): its command line names its directory
        set_command_line([sys.executable, _script(), directory])
    except (OSError, ValueError) as exc:
        _send_message(conn, {"error": str(exc)})
        return
    _send_message(conn, {"pid": os.getpid()})
    conn.close()
    for fd in inherited_fds:
        os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (devnull, log_fd):
        os.close(fd)
    os.chdir("/")
    serve(directory, lock_fd=lock_fd, preload=lambda: None)


def _preload():
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError as exc:
            sys.stderr.write("module server: not preloaded: %s: %s\n" % (name, exc))


class _StopRequest(object):
    """SIGTERM, noted by the signal handler and acted on by the serving loop.

    The handler only records it (and the wakeup fd wakes ``select``): an
    exception raised from a handler could land in an at-fork hook of a fork,
    where Python swallows it.
    """

    def __init__(self):
        self.requested = False
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame):
        self.requested = True

    def drain(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except OSError:
            pass

    def forget(self):
        """In a forked child: the server's stop handling is not its."""
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for fd in (self.wake_r, self.wake_w):
            os.close(fd)


def serve(directory, idle_timeout=IDLE_TIMEOUT, lock_fd=None, handle_request=None,
          preload=None):
    """Serve module runs on ``directory``'s socket until SIGTERM or idle.

    ``lock_fd`` (the directory's lock, held by whoever started the server) is
    closed once the socket listens; the libraries are imported after that.

    The serving loop is shared with the worker's playbook server: it passes its
    own ``handle_request(conn, inherited_fds)`` (run in a forked handler
    process per connection), its own ``preload()`` and no ``idle_timeout``.
    """
    handle_request = handle_request or _serve_request
    stop = _StopRequest()
    dir_fd = _open_dir(directory)
    address = _socket_address(dir_fd)
    try:
        os.unlink(address)
    except OSError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    os.chmod(address, 0o600)
    listener.listen(16)
    with open(os.path.join(directory, PID_NAME), "w") as handle:
        handle.write("%d\n" % os.getpid())
    if lock_fd is not None:
        os.close(lock_fd)
    (preload or _preload)()
    # what the preload made stays put: a collection in a forked process does not
    # touch (and so copy) the pages of the server's objects
    gc.freeze()
    handlers = set()
    idle_since = time.time()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        while not stop.requested:
            while handlers:
                pid = os.waitpid(-1, os.WNOHANG)[0]
                if not pid:
                    break
                handlers.discard(pid)
            if handlers:
                idle_since = time.time()
            elif idle_timeout is not None and time.time() - idle_since > idle_timeout:
                break
            readable = select.select([listener, stop.wake_r], [], [], 1.0)[0]
            if stop.wake_r in readable:
                stop.drain()
            if listener not in readable or stop.requested:
                continue
            conn = listener.accept()[0]
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    stop.forget()
                    listener.close()
                    handle_request(conn, [dir_fd])
                except BaseException as exc:  # pylint: disable=broad-except
                    sys.stderr.write("module server: request failed: %r\n" % (exc,))
                    code = 1
                os._exit(code)  # pylint: disable=protected-access
            conn.close()
            handlers.add(pid)
    finally:
        listener.close()
        _remove_own_files(directory)


def _remove_own_files(directory):
    """Remove the socket and pid file, unless a server started since has them now."""
    pid_path = os.path.join(directory, PID_NAME)
    try:
        with open(pid_path) as handle:
            if int(handle.read().strip()) != os.getpid():
                return
    except (OSError, ValueError):
        pass
    for path in (os.path.join(directory, SOCKET_NAME), pid_path):
        try:
            os.unlink(path)
        except OSError:
            pass


def main(argv):
    if len(argv) == 5 and argv[1] == TEMPLATE_OPTION:
        exit_with_parent()
        serve(os.path.abspath(argv[2]), idle_timeout=None, lock_fd=int(argv[3]),
              handle_request=_serve_template_request)
        return 0
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: module_server.py DIR [LOCK_FD]\n"
                         "       module_server.py %s DIR LOCK_FD ROOM\n" % TEMPLATE_OPTION)
        return 2
    serve(os.path.abspath(argv[1]), lock_fd=int(argv[2]) if len(argv) == 3 else None)
    return 0


if __name__ == "__main__":
    # run as a script: its own directory (the collection's module_utils) is no import path
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path = [path for path in sys.path if os.path.abspath(path or ".") != _HERE]
    raise SystemExit(main(sys.argv))
