"""The client side of the worker's playbook server: the ``ansible-playbook`` that
ansible-runner starts for a task playbook (see ``playbook_server``).

It is started for every task, before the task is opened on the hub, so it starts as little
as it can: the client the daemon writes runs Python isolated and without ``site``
(``-I -S``), and this module imports the standard library and module_server (the socket
protocol, standard library only) and nothing else: no koji_adjutant package, no Ansible.
"""

import os
import signal
import socket
import sys

try:
    from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_server
except ImportError:  # the written client: module_utils is on sys.path, nothing else is
    import module_server  # pylint: disable=import-error

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def script(python, server_dir, fallback):
    """The text of the client the daemon gives ansible-runner as its ``ansible-playbook``."""
    paths = [os.path.dirname(os.path.abspath(__file__)),
             os.path.dirname(os.path.abspath(module_server.__file__))]
    return ("#!%s -IS\n"
            "# Written by the koji-adjutant worker: ansible-playbook through the worker's\n"
            "# playbook server (koji_adjutant/worker/playbook_server.py).\n"
            "import sys\n"
            "sys.path[:0] = %r\n"
            "import playbook_client\n"
            "raise SystemExit(playbook_client.main(%r, %r))\n"
            % (python, paths, server_dir, fallback))


def main(server_dir, fallback):
    """Run ``ansible-playbook ARGS`` through the server of ``server_dir``; the exit code."""
    argv = [fallback] + sys.argv[1:]
    try:
        try:
            sock = module_server.connect_running(server_dir)
        except OSError:
            # starting: its lock is held until it listens
            os.close(module_server.lock(server_dir))
            sock = module_server.connect_running(server_dir)
    except (OSError, module_server.ModuleServerError) as exc:
        sys.stderr.write("playbook server not reachable (%s): running %s\n" % (exc, fallback))
        sys.stderr.flush()
        os.execv(fallback, argv)
    with sock:
        socket.send_fds(sock, [b"\0"], [0, 1, 2])
        module_server.send_message(sock, {"argv": argv, "env": dict(os.environ),
                                          "cwd": os.getcwd()})
        try:
            pid = module_server.recv_message(sock)["pid"]
        except (EOFError, OSError, ValueError, KeyError) as exc:
            # nothing was started
            sys.stderr.write("playbook server failed (%r): running %s\n" % (exc, fallback))
            sys.stderr.flush()
            os.execv(fallback, argv)

        def forward(signum, frame):
            try:
                os.killpg(pid, signum)
            except OSError:
                pass

        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, forward)
        try:
            status = module_server.recv_message(sock)["status"]
        except (EOFError, OSError, ValueError, KeyError) as exc:
            sys.stderr.write("playbook server: lost the playbook (%r)\n" % (exc,))
            return 1
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
