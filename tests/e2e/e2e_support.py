"""Helpers of the end-to-end tests (constants, the worker process, task helpers)."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import koji
import pytest

from koji_adjutant_devhub import testing

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(os.path.dirname(HERE), "data", "specs")
HOST_NAME = "builder-e2e"
HOST_PASSWORD = "builder-secret"
TAG = "e2e-build"
# unique per test session, so concurrent runs on one machine never touch each
# other's task containers (their names and orphan clean-up use the worker id)
WORKER_ID = "e2e-%s" % uuid.uuid4().hex[:8]


def write_worker_config(path, hub, workdir, extra_adjutant=None, extra_kojid=None):
    """The e2e worker's kojid.conf (see koji_adjutant_devhub.testing.write_worker_config)."""
    kojid = {"maxjobs": "4", "retry_interval": "2", "max_retries": "5",
             # the git daemon listens on 127.0.0.1:<port>; entries split on ":", so glob the port
             "allowed_scms": "127.0.0.1*:/*:no:"}
    kojid.update(extra_kojid or {})
    adjutant = {"worker_id": WORKER_ID, "waitrepo_poll_interval": "1"}
    adjutant.update(extra_adjutant or {})
    return testing.write_worker_config(path, hub, workdir, HOST_NAME, HOST_PASSWORD,
                                       kojid=kojid, adjutant=adjutant)


class WorkerProcess(object):
    """The real worker daemon in a subprocess.

    It runs with ``--force-lock`` as the worker role's systemd unit (and kojid's) runs it:
    tests kill workers, and a killed worker leaves its exclusive session open on the hub,
    real or dev. ``force_lock=False`` starts it without (the configuration files the tests
    write leave ``force_lock`` at its default, off)."""

    def __init__(self, config_path, log_path, force_lock=True):
        self.config_path = config_path
        self.log_path = log_path
        self.force_lock = force_lock
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "koji_adjutant.cli", "worker", "-c", self.config_path,
             "--log-level", "DEBUG"] + (["--force-lock"] if self.force_lock else []),
            stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()


def build_arch_task(hub, pkg, arch="x86_64", keep_srpm=True, opts=None, **task_opts):
    if opts is None:
        opts = {"repo_id": hub.repo["id"]}
    return hub.make_task("buildArch", [pkg, TAG, arch, keep_srpm, opts],
                         arch=task_opts.pop("task_arch", arch), **task_opts)


def wait_for(predicate, timeout, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def build_running(hub, task_id):
    """Whether the task's live build.log on the hub shows the build has started (the slow
    specs print "sleeping")."""
    path = os.path.join(hub.topdir, "work", koji.pathinfo.taskrelpath(task_id), "build.log")
    try:
        with open(path) as handle:
            return "sleeping" in handle.read()
    except OSError:
        return False


def task_fault(session, task_id):
    """The fault a FAILED task's result raises (a koji error, or a plain Fault of code 1)."""
    with pytest.raises((koji.GenericError, koji.xmlrpcplus.Fault)) as excinfo:
        session.getTaskResult(task_id)
    return excinfo.value


def task_container(task_id):
    """ID of the task's container on this machine (from its labels), or None.

    (podman ORs several label filters: the worker id is matched here.)
    """
    out = subprocess.run(["podman", "ps", "-a", "--format",
                          '{{.ID}} {{index .Labels "io.koji.adjutant.worker_id"}}',
                          "--filter", "label=io.koji.adjutant.task_id=%d" % task_id],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == WORKER_ID:
            return fields[0]
    return None


def wait_container_removed(task_id, timeout=30):
    """Wait until the task's container is gone: the task playbook removes it once the task
    has ended on the hub (as kojid removes a buildroot after the task), so shortly after
    the task is CLOSED or FAILED."""
    wait_for(lambda: task_container(task_id) is None, timeout, 0.1,
             what="task %s's container to be removed" % task_id)


def koji_cli(hub, config_dir, *args):
    """Run the real ``koji`` CLI (this venv's) as the hub's admin; returns the process
    (stdout and stderr together)."""
    config = os.path.join(str(config_dir), "koji.conf")
    hub.write_koji_config(config)
    koji_bin = os.path.join(os.path.dirname(sys.executable), "koji")
    cmd = [koji_bin] + hub.koji_cli_args(config) + list(args)
    return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def host_address():
    """This host's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return sock.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"] +
                          list(args), cwd=cwd, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


class GitServer(object):
    """`git daemon` on loopback serving bare package repos made by :meth:`add_repo`."""

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.url = "git://127.0.0.1:%d" % self.port
        self.shas = {}
        self.proc = None

    def add_repo(self, name, files):
        """A bare repo ``<name>.git`` with the given {file name: text}; returns the sha."""
        work = os.path.join(self.base, name)
        os.makedirs(work)
        git(work, "init", "-q", "-b", "main")
        for filename, text in files.items():
            with open(os.path.join(work, filename), "w") as handle:
                handle.write(text)
        git(work, "add", ".")
        git(work, "commit", "-q", "-m", "import")
        self.shas[name] = git(work, "rev-parse", "HEAD")
        git(self.base, "clone", "-q", "--bare", work, "%s.git" % name)
        return self.shas[name]

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1",
             "--port=%d" % self.port, "--base-path=%s" % self.base, self.base],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._listening, 10, interval=0.1, what="git daemon on port %d" % self.port)
        return self

    def _listening(self):
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


class SmtpSink(object):
    """A tiny SMTP server on loopback keeping every message it receives
    (``messages``: dicts with mail_from, rcpt_to and data)."""

    def __init__(self):
        import socketserver
        import threading
        sink = self
        self.messages = []

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write((text + "\r\n").encode())

            def handle(self):
                self.reply("220 sink ready")
                message = {"mail_from": None, "rcpt_to": [], "data": None}
                while True:
                    line = self.rfile.readline().decode("utf-8", "replace")
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb in ("HELO", "EHLO"):
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        message["mail_from"] = line.split(":", 1)[1].strip()
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        message["rcpt_to"].append(line.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        lines = []
                        while True:
                            data = self.rfile.readline().decode("utf-8", "replace")
                            if data in (".\r\n", ".\n", ""):
                                break
                            lines.append(data[1:] if data.startswith("..") else data)
                        message["data"] = "".join(lines)
                        sink.messages.append(message)
                        message = {"mail_from": None, "rcpt_to": [], "data": None}
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
