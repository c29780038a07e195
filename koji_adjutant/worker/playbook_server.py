"""ansible-playbook started from a pre-warmed interpreter: the worker's playbook server.

Every koji task is an ``ansible-playbook`` run, and before its first task that process
spends about 0.25 s of CPU starting Python and importing Ansible: a quarter of what a short
buildArch costs beyond its build.  With ``[adjutant] playbook_server = true`` (the default)
the daemon starts one server that has imported Ansible's playbook command line once, and
gives ansible-runner a client as its ``ansible-playbook``:

* the **client** (``<state_dir>/playbook-server/ansible-playbook``, written by the daemon;
  its code is ``playbook_client``, which imports neither Ansible nor this package)
  connects to the server's socket and hands over its standard input, output and error (the
  pseudo-terminal ansible-runner reads), its arguments, environment and working directory;
  it forwards SIGINT, SIGTERM and SIGHUP to the playbook and exits as the playbook did
  (with its exit status, or killed by the same signal);
* the **server** (module_server's serving loop with a handler of its own) forks a handler
  per connection, which forks the **playbook process**: in a session of its own, with the
  client's descriptors, environment and directory, and a command line rewritten to the
  client's own, so that it and its task workers name their run's private directory exactly
  as a plain ``ansible-playbook`` would (the daemon finds a stopped or orphaned run's
  processes by that); then it re-reads Ansible's configuration with the run's environment
  and runs ``ansible-playbook``'s command line code;
* what every playbook would parse again, the server parses once when it starts (**priming**):
  the configuration definitions in the documentation of the plugins a playbook loads
  (connection, shell, become, callback, inventory, vars and cache plugins, the enabled
  callbacks), which a playbook process takes over when its settings are the server's, and
  the collections' routing tables (``meta/runtime.yml``, ansible.builtin's among them),
  which Ansible's collection loader is given through its caching hook; both are parsed by
  Ansible's own code, in a process forked for it, and a playbook parses whatever they miss;
* when the client goes away before the playbook ends (ansible-runner killed it: the task
  was canceled or freed), the handler kills the playbook's process group.

Correctness comes first: the playbook process compares every Ansible setting it reads with
the server's; settings that are per run by design (the local temporary directory, the fact
cache) may differ, any other difference (an ``ansible.cfg`` in the run's directory, another
plugin path) makes it run the real ``ansible-playbook`` instead, and so does a server that
cannot be reached: the same playbook, only slower.  Either case is said on standard error,
so it is in the task's log.
"""

import atexit
import importlib
import io
import os
import pickle
import random
import select
import signal
import socket
import sys
import traceback

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_server
from koji_adjutant.worker import playbook_client

SERVER_DIR = "playbook-server"
MODULE_NAME = "koji_adjutant.worker.playbook_server"
CLIENT_NAME = "ansible-playbook"
# Ansible settings that differ from run to run by design
PER_RUN_SETTINGS = frozenset(("DEFAULT_LOCAL_TMP", "CACHE_PLUGIN_CONNECTION"))
# what the server imports once: Ansible's playbook command line and what every task
# playbook loads (measured: the modules a buildArch playbook imported beyond the command line)
PRELOAD = (
    "ansible.cli.playbook",
    "ansible.executor.task_executor",
    "ansible.executor.process.worker",
    "ansible.plugins.strategy.linear",
    "ansible.plugins.action.normal",
    "ansible.plugins.action.set_fact",
    "ansible.plugins.cache.jsonfile",
    "ansible.plugins.connection.local",
    "ansible.plugins.connection.ssh",
    "ansible.plugins.connection.paramiko_ssh",
    "ansible.plugins.connection.psrp",
    "ansible.plugins.connection.winrm",
    "ansible.plugins.become.su",
    "ansible.plugins.become.sudo",
    "ansible.plugins.callback.default",
    "ansible.plugins.callback.junit",
    "ansible.plugins.callback.minimal",
    "ansible.plugins.callback.oneline",
    "ansible.plugins.callback.tree",
    "ansible.plugins.inventory.auto",
    "ansible.plugins.inventory.host_list",
    "ansible.plugins.inventory.ini",
    "ansible.plugins.inventory.script",
    "ansible.plugins.inventory.toml",
    "ansible.plugins.inventory.yaml",
    "ansible.plugins.shell.cmd",
    "ansible.plugins.shell.powershell",
    "ansible.plugins.shell.sh",
    "ansible.plugins.vars.host_group_vars",
    "ansible.playbook.handler_task_include",
    "ansible.utils.hashing",
    "multiprocessing.popen_fork",
    "multiprocessing.synchronize",
    "xml.dom.minidom",
    "xml.etree.ElementTree",
)
# priming: the plugin loaders whose every plugin (beyond the enabled callbacks) has its
# configuration definitions parsed once, and this collection's plugins a playbook loads
PRIMED_PLUGIN_TYPES = ("connection", "shell", "become", "callback", "inventory", "vars", "cache")
PRIMED_COLLECTION_PLUGINS = (("connection", "koji_adjutant.builder.warm_local"),)

_BASELINE = {}
# what priming parsed: the plugins' configuration definitions, by type and name (as
# Ansible's configuration manager keeps them), and routing tables by (id, text)
_PLUGIN_DEFINITIONS = {}
_ROUTING_TABLES = {}


# -- the server ------------------------------------------------------------------------
def _preload():
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # another ansible-core: imported when a playbook needs it
            sys.stderr.write("playbook server: not preloaded: %s: %s\n" % (name, exc))
    from ansible import constants

    _BASELINE.update(_settings(constants))
    _prime()


def _prime():
    """Parse once what each playbook would parse again (see the module's documentation)."""
    try:
        _prime_routing_tables()
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write("playbook server: routing tables not primed: %r\n" % (exc,))
    try:
        _PLUGIN_DEFINITIONS.update(_in_child(_plugin_definitions))
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write("playbook server: plugin definitions not primed: %r\n" % (exc,))


def _prime_routing_tables():
    """Parse ansible.builtin's routing table and every collection's ``meta/runtime.yml``
    once, and hand them to the collection loader through its caching hook (the text must be
    the same, else it is parsed as before)."""
    import glob

    from ansible import constants
    from ansible.utils.collection_loader import _collection_finder

    parse = _collection_finder._meta_yml_to_dict  # pylint: disable=protected-access
    if parse is None or getattr(parse, "koji_adjutant_primed", False):
        return
    ansible_dir = os.path.dirname(importlib.import_module("ansible").__file__)
    tables = [(("ansible.builtin", "runtime.yml"),
               os.path.join(ansible_dir, "config", "ansible_builtin_runtime.yml"))]
    for root in constants.COLLECTIONS_PATHS:
        for path in sorted(glob.glob(os.path.join(root, "ansible_collections", "*", "*", "meta",
                                                  "runtime.yml"))):
            parts = path.split(os.sep)
            tables.append((("%s.%s" % (parts[-4], parts[-3]), "runtime.yml"), path))
    for content_id, path in tables:
        with open(path, "rb") as handle:
            text = handle.read()
        _ROUTING_TABLES[(content_id, text)] = parse(text, content_id)

    def primed(yaml_string_data, content_id):
        try:
            return _ROUTING_TABLES[(tuple(content_id), yaml_string_data)]
        except (KeyError, TypeError):
            return parse(yaml_string_data, content_id)

    primed.koji_adjutant_primed = True
    _collection_finder._meta_yml_to_dict = primed  # pylint: disable=protected-access


def _plugin_definitions():
    """In a process forked for it (Ansible's collection loader is installed for good): load
    the plugins a playbook loads, as a playbook does; their configuration definitions."""
    from ansible import constants
    from ansible.plugins import loader

    _forget_plain_collection_imports()
    loader.init_plugin_loader([])
    loaders = dict((name, getattr(loader, "%s_loader" % name)) for name in PRIMED_PLUGIN_TYPES)
    for plugin_loader in loaders.values():
        for dummy in plugin_loader.all(class_only=True):
            pass
    callbacks = [constants.DEFAULT_STDOUT_CALLBACK] + list(constants.CALLBACKS_ENABLED or [])
    for kind, name in [("callback", name) for name in callbacks] + list(
            PRIMED_COLLECTION_PLUGINS):
        loaders[kind].get(name, class_only=True)
    return constants.config._plugins  # pylint: disable=protected-access


def _in_child(function):
    """``function()`` run in a forked process; its (pickled) return value."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            data = pickle.dumps(function(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
        except BaseException:  # pylint: disable=broad-except
            traceback.print_exc()
        finally:
            os._exit(code)  # pylint: disable=protected-access
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    status = os.waitpid(pid, 0)[1]
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise RuntimeError("the priming process ended with status %d" % status)
    return pickle.loads(data)  # nosec - from this server's own fork


def _settings(constants):
    """Every Ansible setting as read now, and the configuration file it came from."""
    settings = dict((name, getattr(constants, name))
                    for name in constants.config.get_configuration_definitions()
                    if hasattr(constants, name))
    settings["(configuration file)"] = constants.config._config_file
    return settings


def _reload_ansible_config():
    """Re-read Ansible's settings with this run's environment; None when they are the
    server's (but for the per-run ones), else the name of the first that differs."""
    from ansible import constants

    old = constants.config
    importlib.reload(constants)
    settings = _settings(constants)
    for name, value in _BASELINE.items():
        if name not in PER_RUN_SETTINGS and settings.get(name) != value:
            return name
    # modules that imported the configuration manager itself read the new one
    for module in list(sys.modules.values()):
        if getattr(module, "config", None) is old:
            module.config = constants.config
    # the same settings: the same plugins, whose definitions the server has parsed (this
    # process's copy is its own)
    for plugin_type, definitions in _PLUGIN_DEFINITIONS.items():
        for name, options in definitions.items():
            if not constants.config.has_configuration_definition(plugin_type, name):
                constants.config.initialize_plugin_configuration_definitions(
                    plugin_type, name, options)
    return None


def _forget_server_temporary_directory():
    """Drop the exit handler that removes the server's own Ansible temporary directory
    (reading Ansible's settings again makes this process one of its own)."""
    from ansible.utils.path import cleanup_tmp_file

    atexit.unregister(cleanup_tmp_file)


def _forget_plain_collection_imports():
    """This module came in through a plain import of ``ansible_collections.koji_adjutant``
    (module_server); a playbook imports collections through Ansible's collection loader
    only, as a new ansible-playbook would."""
    for name in list(sys.modules):
        if name == "ansible_collections" or name.startswith("ansible_collections."):
            del sys.modules[name]
    sys.path_importer_cache.clear()


def _run_playbook_cli(argv):
    """``ansible-playbook ARGV[1:]`` in this process; its exit code."""
    from ansible.cli.playbook import PlaybookCLI

    code = 0
    try:
        PlaybookCLI.cli_executor(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    atexit._run_exitfuncs()  # pylint: disable=protected-access
    return code


def _playbook_process(request, fds, inherited_fds):
    """In the forked playbook process: become the client's ansible-playbook."""
    code = 1
    argv = request["argv"]
    try:
        os.setsid()
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        for fd in inherited_fds:
            os.close(fd)
        for number, fd in enumerate(fds):
            os.dup2(fd, number)
            os.close(fd)
        encoding = sys.stdout.encoding or "utf-8"
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
        for number, name in ((1, "stdout"), (2, "stderr")):
            setattr(sys, name, io.TextIOWrapper(
                io.FileIO(number, "w", closefd=False), encoding=encoding,
                errors="backslashreplace" if number == 2 else "strict",
                line_buffering=os.isatty(number), write_through=number == 2))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        # the server's temporary directory is not this process's to remove at exit (the
        # interpreter's own exit handlers stay: multiprocessing's ends the task workers
        # still running, as at the end of a new ansible-playbook)
        _forget_server_temporary_directory()
        _forget_plain_collection_imports()
        random.seed()
        try:
            module_server.set_command_line(argv)
            differs = _reload_ansible_config()
            reason = differs and "Ansible setting %s differs from the server's" % differs
        except (OSError, ValueError) as exc:
            reason = "cannot take the client's command line (%s)" % exc
        if reason:
            sys.stderr.write("playbook server: %s: running %s\n" % (reason, argv[0]))
            sys.stderr.flush()
            os.execve(argv[0], argv, request["env"])
        sys.argv = list(argv)
        code = _run_playbook_cli(argv)
    except BaseException:  # pylint: disable=broad-except
        traceback.print_exc()
    finally:
        os._exit(code & 0xff)  # pylint: disable=protected-access


def _wait_for_playbook(pid, conn):
    """The playbook's wait status; None when the client went away first (it is killed)."""
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        readable = select.select([conn, wake_r], [], [])[0]
        if wake_r in readable:
            try:
                os.read(wake_r, 512)
            except OSError:
                pass
        if conn in readable and not conn.recv(1, socket.MSG_PEEK):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(pid, 0)
            return None


def _serve_playbook(conn, inherited_fds):
    """In a handler process: start one playbook and report how it ended."""
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    try:
        fds = socket.recv_fds(conn, 1, 3)[1]
    except (OSError, EOFError):
        return
    if len(fds) != 3:
        return  # a client that only checked that the server is up
    request = module_server.recv_message(conn)
    pid = os.fork()
    if pid == 0:
        _playbook_process(request, fds, list(inherited_fds) + [conn.fileno()])
    for fd in fds:
        os.close(fd)
    module_server.send_message(conn, {"pid": pid})
    status = _wait_for_playbook(pid, conn)
    if status is not None:
        try:
            module_server.send_message(conn, {"status": status})
        except OSError:
            pass


def serve(directory, lock_fd=None):
    module_server.exit_with_parent()
    module_server.serve(directory, idle_timeout=None, lock_fd=lock_fd,
                        handle_request=_serve_playbook, preload=_preload)


# -- the daemon's side -----------------------------------------------------------------
def server_dir(state_dir):
    return os.path.join(state_dir, SERVER_DIR)


def start(state_dir, env, log_path):
    """Start the playbook server with the task playbooks' environment ``env``; returns
    ``(Popen, client path)``.  The client waits for the server while it starts."""
    directory = server_dir(state_dir)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fallback = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    client = os.path.join(directory, CLIENT_NAME)
    atomic_files.write_text(client, playbook_client.script(sys.executable, directory, fallback),
                            mode=0o755)
    proc = module_server.start_long_lived(directory, MODULE_NAME,
                                          [sys.executable, "-m", MODULE_NAME], log_path, env=env)
    return proc, client


def stop(proc, timeout=10.0):
    """Stop the server (the playbooks it started go on to their end)."""
    module_server.stop_process(proc, timeout)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: python -m koji_adjutant.worker.playbook_server DIR LOCK_FD "
                         "ROOM\n")
        return 2
    serve(os.path.abspath(argv[1]), lock_fd=int(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
