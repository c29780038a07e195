"""The worker daemon: kojid's main loop, running each task's playbook with ansible-runner.

Each pass (every ``sleeptime`` seconds, at once again after taking a task):

1. ``host.getHostTasks`` → load; OPEN tasks we are not running are stale and
   freed; tasks we run that are no longer OPEN on us (canceled, reassigned) are
   killed: their container is removed and their playbook stopped.
2. Finished playbooks are reaped; a task a playbook left OPEN is failed with a
   message that says so (never left OPEN), and its subsession is closed.
3. Readiness (kojid's checks) → ``host.updateHost`` → ``host.getTasks`` → take
   one task in-process (``task_claim.take_task``), give it a subsession, and
   start ``playbooks/tasks/<method>.yml`` with ``ansible_runner.run_async`` in a
   fresh private data dir.

On start, OPEN tasks and active buildroots of this host are freed/expired and
orphan task containers removed.  SIGTERM, or a ``shutdown`` task whose step
reports ``worker_stop``: kill running work, free its tasks (the shutdown task
too), report not ready, log out, exit 0.  SIGUSR1: take no new work and restart
when idle.
With ``monitoring_enabled`` a status HTTP server (``status.py``) reports what
the worker is doing and its metrics.
"""

import collections
import importlib.metadata
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time

import ansible_runner
import koji

from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot_cache
from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib
from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session
from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_claim
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_types

from koji_adjutant.worker import status as status_server

LOG = logging.getLogger("koji_adjutant.worker")

# a task's states once its playbook has closed or failed it
ENDED_STATES = ("CLOSED", "FAILED")

# seconds between removals of cached buildroot images of repos no longer current
CACHE_PRUNE_INTERVAL = 600

# seconds between two looks for active buildroots of this host whose task is not running here
# (kojid's updateBuildroots, which expires them)
BUILDROOT_SWEEP_INTERVAL = 60

# the tag of a task playbook's own container removal step: the daemon skips it and ends the
# container itself when it reaps the playbook
CONTAINER_REMOVAL_TAG = "container_removal"

# what earlier releases kept in the state directory (their module and playbook servers, the
# modules' AnsiballZ payloads): removed at start-up
RETIRED_STATE_DIRS = ("module-server-template", "playbook-server", "ansiballz-cache")

# the ansible-runner events whose step result may carry the steps' report to the daemon
# (module_common.DAEMON_REPORT_KEY)
STEP_RESULT_EVENTS = ("runner_on_ok", "runner_on_failed")


class TaskRun(object):
    """One task being run by its playbook."""

    def __init__(self, claim, task_dir, private_dir, session_id, container):
        self.task_id = claim.task_id
        self.container = container
        self.method = claim.method
        self.weight = claim.weight or 0.0
        self.claim = claim
        self.task_dir = task_dir
        self.private_dir = private_dir
        self.session_id = session_id
        self.started = time.time()
        self.cancel_requested = False
        self.waiting = False
        self.thread = None
        self.runner = None
        self.cancel_reason = None
        self.step = None
        self.step_started = None
        self.steps = []
        # the state the playbook's own close or fail call left the task in (CLOSED, FAILED),
        # and when the daemon saw it
        self.ended_state = None
        self.ended_at = None
        # what the steps reported of the task's container: a step started or used it
        # ("running"), the playbook's own removal step removed it ("removed"; a playbook run
        # by the daemon skips that step: CONTAINER_REMOVAL_TAG)
        self.container_state = None
        # ansible-runner has reported the playbook's end (its thread ends right after)
        self.playbook_finished = False
        # a step asked the daemon to stop (a shutdown task): the task is freed, never failed
        self.stop_requested = False

    @property
    def task_ended(self):
        """The playbook has closed or failed its task (what is left is removing the
        container): the task no longer takes a slot, as a kojid handler that has ended."""
        return self.ended_state is not None

    @property
    def container_used(self):
        """A step of the playbook started or used the task's container."""
        return self.container_state is not None

    @property
    def container_removed(self):
        return self.container_state == "removed"

    @property
    def log_dir(self):
        return os.path.join(self.task_dir, "logs")

    def on_event(self, event, metrics, task_ended=None, stop=None):
        """ansible-runner event callback: the current step (the name of the Ansible task that
        starts), and what the steps report to the daemon on purpose, the
        ``module_common.DAEMON_REPORT_KEY`` of their results: the task ended on the hub
        (``task_ended`` is called then), the task's container used or removed, buildroot
        cache lookups, a stop of the worker (``stop`` is called then).  Nothing else of a
        step's result is read.  Returns False: the event is not written to the run's
        ``artifacts/task/job_events`` (nothing reads those files, and the run's directory goes
        when the run is reaped)."""
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind == "playbook_on_task_start":
            self.step = data.get("task")
            self.step_started = time.time()
            self.steps.append({"name": self.step, "started": self.step_started})
        elif kind in STEP_RESULT_EVENTS:
            report = (data.get("res") or {}).get(module_common.DAEMON_REPORT_KEY)
            if isinstance(report, dict):
                self.on_report(report, metrics, task_ended, stop)
        return False

    def on_report(self, report, metrics, task_ended=None, stop=None):
        """What one step reported to the daemon (``module_common.daemon_report``)."""
        if report.get(module_common.WORKER_STOP) == "requested" and not self.stop_requested:
            self.stop_requested = True
            if stop is not None:
                stop(self)
        cache = report.get(module_common.BUILDROOT_CACHE)
        if cache in ("hit", "miss"):
            metrics.cache_lookup(cache == "hit")
        if report.get(module_common.CONTAINER) == self.container:
            self.container_state = report.get(module_common.CONTAINER_STATE) or "running"
        ended = report.get(module_common.TASK_ENDED)
        if ended in ENDED_STATES and self.ended_state is None:
            self.ended_state = ended
            self.ended_at = time.time()
            if task_ended is not None:
                task_ended()

    def report(self):
        now = time.time()
        return {"id": self.task_id, "method": self.method, "weight": self.weight,
                "waiting": self.waiting, "elapsed": round(now - self.started, 1),
                "step": self.step,
                "step_elapsed": round(now - self.step_started, 1) if self.step_started else None,
                "steps": [{"name": s["name"], "started": round(s["started"] - self.started, 1)}
                          for s in self.steps],
                "container": self.container, "cancel_reason": self.cancel_reason,
                "log_dir": self.log_dir}

    @property
    def finished(self):
        return self.thread is not None and (self.playbook_finished
                                            or not self.thread.is_alive())

    def on_finished(self, wake):
        """ansible-runner's finished callback: the run's status and exit code are final (the
        daemon may reap it at once, without waiting for the thread to end)."""
        self.playbook_finished = True
        wake()

    def cancel(self, reason):
        """Stop the task: its container goes at once, then its playbook."""
        if not self.cancel_requested:
            LOG.info("task %s: stopping (%s)", self.task_id, reason)
            self.cancel_reason = reason
            self.cancel_requested = True
            try:
                containers.remove_container(self.container)
            except containers.ContainerError as exc:
                LOG.warning("task %s: %s", self.task_id, exc)


class Worker(object):
    """kojid's TaskManager and main loop, with playbooks as task handlers."""

    def __init__(self, config):
        # first: a playbook without a task type declaration stops the start (TaskTypeError)
        self.methods = task_claim.available_methods(config.playbook_root)
        self.config = config
        self.session = None
        self.host_id = None
        self.host = {}
        self.runs = {}
        self.task_load = 0.0
        self.stop_requested = False
        self.restart_pending = False
        self.status = "starting"
        self.ready = False
        self.metrics = status_server.WorkerMetrics()
        status_server.HubRetryCounter.install(self.metrics)
        self.finished_runs = collections.OrderedDict()
        self.status_server = None
        self._wake = threading.Event()
        self._last_cache_prune = 0.0
        self._last_buildroot_sweep = 0.0
        # when the last full pass of the main loop started
        self._last_pass = 0.0

    # -- set-up and tear-down ------------------------------------------------
    def start(self):
        if self.config.monitoring_enabled:
            # bind first: a wrong monitoring_bind fails start-up before any hub call
            self.status_server = status_server.StatusServer(self.config.monitoring_bind,
                                                            self).start()
        self.session = hub_session.open_host_session(self.config)
        self.host_id = self.session.host.getID()
        self.host = self.session.host.getHost()
        LOG.info("logged in to %s as host %s (id %s); methods: %s", self.config.server,
                 self.host.get("name"), self.host_id, " ".join(self.methods))
        LOG.info("task playbooks: %s; their collections path: %s; ansible-core %s (the "
                 "pipeline steps run as the collection's action plugins)",
                 self.config.playbook_root, playbook_collections_path(self.config),
                 ansible_core_version())
        problem = playbook_collection_problem(self.config)
        if problem:
            LOG.warning("%s", problem)
        for key in self.config.ignored_settings:
            LOG.warning("[adjutant] %s is set in %s but no longer does anything: the "
                        "pipeline steps run as action plugins in ansible-playbook's own "
                        "process (remove the setting)", key, self.config.path)
        for directory in (self.config.workdir, self.runs_dir()):
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
        self.recover()

    def runs_dir(self):
        return os.path.join(self.config.state_dir, "runs")

    def recover(self):
        """After a restart: nothing of this host is running, so free and expire it all."""
        # first stop the playbooks a killed daemon left running: once their container or
        # task is gone they would run their failure path (uploads, failTask) meanwhile
        kill_orphan_playbooks(self.runs_dir())
        stale = [t["id"] for t in self.session.host.getHostTasks()]
        if stale:
            LOG.info("freeing stale tasks from a previous run: %s", stale)
            self.session.host.freeTasks(stale)
        self.sweep_buildroots("left by a previous run")
        for orphan in containers.task_containers(self.config.worker_name):
            LOG.info("removing orphan container %s (task %s)", orphan["name"], orphan["task_id"])
            containers.remove_container(orphan["name"], state_dir=self.config.state_dir)
        for name in os.listdir(self.runs_dir()):
            shutil.rmtree(os.path.join(self.runs_dir(), name), ignore_errors=True)
        for name in RETIRED_STATE_DIRS:
            path = os.path.join(self.config.state_dir, name)
            if os.path.isdir(path):
                LOG.info("removing %s, which this release no longer uses", path)
                shutil.rmtree(path, ignore_errors=True)
        self.prune_buildroot_cache()

    def sweep_buildroots(self, reason):
        """kojid's updateBuildroots: expire every active buildroot of this host whose task is
        not running here (left by a previous run of the daemon, or by a playbook that ended
        its task without expiring it), and any of no task."""
        self._last_buildroot_sweep = time.time()
        active = [koji.BR_STATES[s] for s in ("INIT", "WAITING", "BUILDING")]
        try:
            broots = self.session.listBuildroots(hostID=self.host_id, state=active)
        except koji.GenericError as exc:
            LOG.warning("cannot list this host's active buildroots: %s", exc)
            return
        for broot in broots:
            if broot.get("task_id") is not None and broot["task_id"] in self.runs:
                continue
            LOG.info("expiring buildroot %s of task %s: %s", broot["id"], broot.get("task_id"),
                     reason)
            try:
                self.session.host.setBuildRootState(broot["id"], koji.BR_STATES["EXPIRED"])
            except koji.GenericError as exc:  # the others are expired all the same
                LOG.warning("cannot expire buildroot %s: %s", broot["id"], exc)

    def prune_buildroot_cache(self):
        """Remove cached buildroot images of repos that are no longer current."""
        self._last_cache_prune = time.time()
        if not self.config.buildroot_cache:
            return
        try:
            for name in buildroot_cache.prune(self.session, self.config.server,
                                              self.config.buildroot_cache_max_images):
                LOG.info("removed cached buildroot image %s", name)
        except (containers.ContainerError, koji.GenericError) as exc:
            LOG.warning("cannot prune the buildroot cache: %s", exc)

    def free_runs(self, runs, reason):
        """Stop these runs' playbooks and containers and give their tasks back to the hub
        (``host.freeTasks``): another host, or this one later, runs them again."""
        for run in runs:
            run.cancel(reason)
        deadline = time.time() + 30
        for run in runs:
            if run.thread is not None:
                run.thread.join(max(0.1, deadline - time.time()))
        try:
            ids = set(run.task_id for run in runs)
            ours = [t["id"] for t in self.session.host.getHostTasks() if t["id"] in ids]
            if ours:
                self.session.host.freeTasks(ours)
            for run in runs:
                hub_session.close_task_session(self.session, run.session_id)
        except koji.GenericError as exc:
            LOG.warning("while freeing tasks (%s): %s", reason, exc)
        for run in runs:
            self.record_finished(run, "FREE", time.time() - run.started)
            # the playbook's output stays on the worker, as for every run that ends
            self.save_task_log(run)
            self.cleanup_run(run, keep_task_dir=True)
            self.runs.pop(run.task_id, None)

    def shutdown(self):
        """SIGTERM: kill running work, free its tasks, report not ready, log out."""
        LOG.info("shutting down; %d task(s) running", len(self.runs))
        # playbooks that have ended are reaped as in any pass (their task has closed or
        # failed: it is not freed, and its log is kept); the rest are stopped and freed, and
        # so is a shutdown task that asked for the stop (kojid frees it: it is never closed)
        for run in [run for run in self.runs.values()
                    if run.finished and not run.stop_requested]:
            try:
                self.finish_run(run)
            except Exception:  # as in the main loop: shutting down goes on
                LOG.exception("task %s: while reaping its playbook", run.task_id)
        self.free_runs(list(self.runs.values()), "worker shutting down")
        try:
            self.session.host.updateHost(0.0, False)
            self.session.logout()
        except koji.GenericError as exc:
            LOG.warning("during shutdown: %s", exc)
        self.stop_status_server()

    def stop_status_server(self):
        if self.status_server is not None:
            self.status_server.stop()
            self.status_server = None

    # -- the main loop -------------------------------------------------------
    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, self._on_sigterm)
        signal.signal(signal.SIGUSR1, self._on_sigusr1)

    def _on_sigterm(self, signum, frame):
        self.stop_requested = True
        self._wake.set()

    def _on_stop_task(self, run):
        """A step of ``run`` (a shutdown task) asked the worker to stop: as kojid's
        ServerExit, the main loop ends and ``shutdown`` frees every task, that one too."""
        LOG.warning("task %s (%s) asks the worker to stop: shutting down", run.task_id,
                    run.method)
        self.stop_requested = True
        self._wake.set()

    def _on_sigusr1(self, signum, frame):
        LOG.info("graceful restart requested: taking no new tasks")
        self.restart_pending = True
        # not ready from now on, not only from the next pass (status and metrics show it)
        self.ready, self.status = False, task_claim.RESTART_PENDING_STATUS
        self._wake.set()

    def run_forever(self):
        """The main loop; returns the exit code."""
        while not self.stop_requested:
            try:
                if self.reap_ended_runs():
                    # the next full pass when it was due anyway
                    self.sleep(self._last_pass + self.config.sleeptime - time.time())
                    continue
                self._last_pass = time.time()
                self.update_tasks()
                if time.time() - self._last_cache_prune > CACHE_PRUNE_INTERVAL:
                    self.prune_buildroot_cache()
                if time.time() - self._last_buildroot_sweep > BUILDROOT_SWEEP_INTERVAL:
                    self.sweep_buildroots("its task is not running here")
                if (self.restart_pending and self.runs
                        and all(run.waiting for run in self.runs.values())):
                    # kojid frees a restartHosts parent so it does not block its own host's
                    # restart; any parent that only waits for children re-attaches to them
                    LOG.info("restart pending: freeing tasks that only wait for children: %s",
                             sorted(self.runs))
                    self.free_runs(list(self.runs.values()), "worker restarting")
                if self.restart_pending and not self.runs:
                    LOG.info("idle with a restart pending: restarting")
                    return self.restart()
                taken = self.get_next_task()
            except (koji.AuthExpired, koji.AuthError) as exc:
                LOG.error("authentication failed: %s", exc)
                return 1
            except koji.RetryError:
                raise
            except Exception as exc:
                LOG.exception("error in the main loop")
                self.metrics.hub_error(type(exc).__name__)
                taken = False
            if not taken:
                self.sleep(self.config.sleeptime)
        self.shutdown()
        return 0

    def reap_ended_runs(self):
        """Reap the finished playbooks without a full pass when that pass would learn nothing
        new: each one had closed or failed its task before the last full pass started, which
        has counted its slot free, checked in and asked for work since.  Whether it did
        (False: a full pass is due: a playbook whose end was not seen, a restart pending)."""
        finished = [run for run in self.runs.values() if run.finished]
        if (not finished or self.restart_pending
                or any(run.ended_at is None or run.ended_at >= self._last_pass
                       for run in finished)):
            return False
        for run in finished:
            self.finish_run(run)
        return True

    def sleep(self, seconds):
        """Sleep, waking early for a finished playbook or a signal."""
        deadline = time.time() + seconds
        while not self.stop_requested:
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            if self._wake.wait(min(remaining, 0.5)):
                self._wake.clear()
                return
            if any(run.finished for run in self.runs.values()):
                return

    def restart(self):
        self.stop_status_server()
        try:
            self.session.host.updateHost(0.0, False)
            self.session.logout()
        except koji.GenericError:
            pass
        os.execv(sys.executable, [sys.executable] + sys.argv)

    def update_tasks(self):
        """kojid's updateTasks: load, stale tasks, canceled/reassigned tasks, reaping."""
        open_tasks = {}
        stale = []
        load = 0.0
        for task in self.session.host.getHostTasks():
            if task["id"] not in self.runs:
                stale.append(task["id"])
                continue
            open_tasks[task["id"]] = task
            self.runs[task["id"]].waiting = bool(task.get("waiting"))
            if not task.get("waiting"):
                load += task.get("weight") or 0.0
        self.task_load = load
        if stale:
            LOG.info("freeing stale tasks: %s", stale)
            self.session.host.freeTasks(stale)
        for task_id, run in list(self.runs.items()):
            if run.stop_requested:
                continue  # a shutdown task: freed by shutdown, as kojid frees it
            if run.finished:
                self.finish_run(run)
            elif task_id not in open_tasks and not run.task_ended:
                info = self.session.getTaskInfo(task_id)
                state = koji.TASK_STATES[info["state"]] if info else "MISSING"
                if state == "CANCELED":
                    run.cancel("task canceled")
                elif info is None or info["host_id"] != self.host_id:
                    run.cancel("task reassigned")
                elif state in ("CLOSED", "FAILED"):
                    pass  # closing; the playbook is about to end
                # a FREE/ASSIGNED task on us is being re-taken; leave it

    def get_next_task(self):
        """kojid's getNextTask: readiness, check-in, take at most one task."""
        self.host = self.session.host.getHost()
        # a playbook that has closed or failed its task takes no slot while it removes the
        # container and ends (a kojid handler has ended by then)
        busy = sum(1 for run in self.runs.values() if not run.task_ended)
        self.ready, self.status = task_claim.readiness(
            self.config, self.host, self.task_load, busy, self.restart_pending)
        task_claim.check_in(self.session, self.config, self.task_load, self.ready, self.methods)
        if not self.ready:
            LOG.debug("not ready: %s (%d running)", self.status, len(self.runs))
            return False
        foreground = [run.task_id for run in self.runs.values()
                      if task_types.is_foreground(run.method)]
        if foreground:
            # kojid runs these in its main loop: nothing else is taken until they end (so a
            # restartVerify is never taken before its restart has asked for the restart)
            LOG.debug("foreground task(s) %s running: taking no other task", foreground)
            return False
        for task in task_claim.assigned_tasks(self.session, self.host_id, skip_ids=self.runs):
            claim = task_claim.take_task(self.session, task["id"], self.methods, self.host,
                                         self.host_id)
            if claim.status == claim.REFUSED:
                LOG.info("refused task %s: %s", task["id"], claim.reason)
                continue
            if claim.status != claim.TAKEN:
                LOG.info("could not take task %s: %s", task["id"], claim.reason)
                continue
            LOG.info("took task %s (%s, weight %s)", claim.task_id, claim.method, claim.weight)
            created = claim.info.get("create_ts")
            self.metrics.task_taken(claim.method, time.time() - created if created else None)
            self.launch(claim)
            return True
        return False

    # -- running one task ------------------------------------------------------
    def task_dir(self, task_id):
        return os.path.join(self.config.workdir, koji.pathinfo.taskrelpath(task_id))

    def launch(self, claim):
        task_id = claim.task_id
        task_dir = self.task_dir(task_id)
        # a new directory per launch: a playbook left from a crashed worker can
        # never touch the session file of a new run of the same task
        private_dir = os.path.join(self.runs_dir(), "%d-%d" % (task_id, int(time.time() * 1000)))
        for directory in (task_dir, private_dir):
            if os.path.exists(directory):
                shutil.rmtree(directory)
        os.makedirs(os.path.join(task_dir, "logs"))
        os.makedirs(private_dir, 0o700)
        session_file = os.path.join(private_dir, "hub-session.json")
        session_id = hub_session.create_task_session_file(self.session, session_file, task_id)
        run = TaskRun(claim, task_dir, private_dir, session_id,
                      containers.container_name(task_id, self.config.worker_name))
        self.runs[task_id] = run
        if claim.param_error:
            # kojid's handler would raise ParameterError: no need to start a playbook
            self._fail(task_id, koji.ParameterError.faultCode, claim.param_error)
            run.thread = threading.Thread(target=lambda: None)
            run.thread.start()
            return
        playbook = os.path.join(self.config.playbook_root, "tasks", "%s.yml" % claim.method)
        extravars = {
            "koji_task_id": task_id,
            "koji_config": os.path.abspath(self.config.path),
            "koji_session_file": session_file,
            "koji_task_dir": task_dir,
            "rpmbuild_timeout": self.config.rpmbuild_timeout,
            "dynamic_buildrequires_max_loops": self.config.dynamic_buildrequires_max_loops,
            "koji_wait_poll_interval": self.config.subtask_poll_interval,
            "koji_waitrepo_poll_interval": self.config.waitrepo_poll_interval,
            # for the restart and restartVerify tasks
            "koji_worker_pid": os.getpid(),
            "koji_worker_started": self.metrics.started,
        }
        inventory = {"all": {"hosts": {"localhost": playbook_host_vars()}}}
        run.thread, run.runner = ansible_runner.run_async(
            private_data_dir=private_dir, extravars=extravars,
            inventory=inventory, envvars=playbook_envvars(self.config, private_dir), ident="task",
            quiet=True,
            cancel_callback=lambda: run.cancel_requested,
            event_handler=lambda event: run.on_event(event, self.metrics, self._wake.set,
                                                     self._on_stop_task),
            finished_callback=lambda _runner: run.on_finished(self._wake.set),
            # the daemon ends the container when it reaps the playbook (end_container): the
            # playbook's own removal step is left out, no step after the task has ended
            skip_tags=CONTAINER_REMOVAL_TAG, settings=RUNNER_SETTINGS, playbook=playbook)

    def finish_run(self, run):
        """Reap a finished playbook; never leave its task OPEN."""
        if run.cancel_requested:
            kill_orphan_playbooks(run.private_dir, "task %s's stopped playbook" % run.task_id)
        status = getattr(run.runner, "status", "unknown") if run.runner else "not started"
        rc = getattr(run.runner, "rc", None) if run.runner else None
        log_copy = self.save_task_log(run)
        ended_by_playbook = run.ended_state and not run.cancel_requested
        if ended_by_playbook:
            # its own close or fail call ended the task and expired its buildroots (any it
            # left active goes with the next sweep_buildroots)
            final = run.ended_state
        else:
            # a task no longer ours (canceled, reassigned) is left alone: the hub refuses
            # every host call for it
            ours, final = task_result.task_ownership(self.session, run.task_id, self.host_id)
            if ours:
                message = ("the %s playbook ended without closing or failing the task (runner "
                           "status %s, rc %s); see %s on the worker"
                           % (run.method, status, rc, log_copy or "the worker log"))
                LOG.error("task %s: %s", run.task_id, message)
                if self._fail(run.task_id, 1, message):
                    final = "FAILED"
        elapsed = time.time() - run.started
        hub_session.close_task_session(self.session, run.session_id)
        self.record_finished(run, final, elapsed)
        self.cleanup_run(run, keep_task_dir=final != "CLOSED")
        del self.runs[run.task_id]
        if not ended_by_playbook:
            # the buildroots a stopped or crashed playbook left active, now that its
            # container is gone and its task is no longer running here
            self.sweep_buildroots("its playbook did not end it")
        # once nothing of the run is left (its module server stopped, its directory gone)
        LOG.info("task %s (%s) done in %.1fs: runner %s, task %s", run.task_id, run.method,
                 elapsed, status, final)

    def record_finished(self, run, final_state, elapsed):
        """Metrics and the recent-task record of the status server."""
        outcome = final_state.lower()
        if outcome in ("free", "assigned", "open"):
            outcome = "freed"
        self.metrics.task_finished(run.method, outcome, elapsed)
        report = run.report()
        report.update(state=final_state, elapsed=round(elapsed, 1), finished=time.time(),
                      log_dir=None if final_state == "CLOSED" else run.log_dir)
        self.finished_runs[run.task_id] = report
        while len(self.finished_runs) > status_server.FINISHED_KEPT:
            self.finished_runs.popitem(last=False)

    def _fail(self, task_id, code, message):
        """Fail the task on the hub; whether that was done."""
        try:
            task_result.fail_task(self.session, task_id, code, message)
            return True
        except koji.GenericError as exc:
            LOG.warning("task %s: could not fail it: %s", task_id, exc)
            return False

    def save_task_log(self, run):
        """Keep the playbook's output in ``<log_dir>/tasks/<id>.log``."""
        source = os.path.join(run.private_dir, "artifacts", "task", "stdout")
        if not os.path.exists(source):
            return None
        target_dir = os.path.join(self.config.log_dir, "tasks")
        try:
            if not os.path.isdir(target_dir):
                os.makedirs(target_dir)
            target = os.path.join(target_dir, "%s.log" % run.task_id)
            shutil.copyfile(source, target)
            return target
        except OSError as exc:
            LOG.warning("cannot keep the log of task %s: %s", run.task_id, exc)
            return None

    def cleanup_run(self, run, keep_task_dir=False):
        # a stopped playbook's task workers (each in a session of its own, which
        # ansible-runner's cancel does not kill) could still start a module
        kill_orphan_playbooks(run.private_dir, "task %s's stopped playbook" % run.task_id)
        self.end_container(run)
        shutil.rmtree(run.private_dir, ignore_errors=True)
        if not keep_task_dir:
            shutil.rmtree(run.task_dir, ignore_errors=True)

    def end_container(self, run):
        """End the container of a reaped run, as kojid's TaskManager removes the buildroots
        of tasks that are over: kill its main process (its ``--rm`` removes it), or remove
        it with podman.  Nothing to do for a task failed for its parameters (no playbook),
        for a playbook that removed it itself after ending its task, or for one that ended
        well without using a container (tagBuild, newRepo, ...); whatever else may have one
        (a stopped, crashed or failed playbook) is ended whether it used one or not."""
        if run.runner is None or (run.container_removed and run.task_ended):
            return
        if (not run.container_used and not run.cancel_requested
                and getattr(run.runner, "status", None) == "successful"):
            return
        try:
            containers.end_container(run.container, self.config.state_dir)
        except containers.ContainerError as exc:
            LOG.warning("task %s: %s", run.task_id, exc)

    def capacity(self):
        return task_claim.effective_capacity(self.config, self.host)

    def status_report(self):
        """What /api/v1/status shows (and ``worker --once`` logs)."""
        return {
            "host": self.host.get("name"),
            "host_id": self.host_id,
            "worker_id": self.config.worker_name,
            "hub": self.config.server,
            "ready": self.ready,
            "status": self.status,
            "enabled": self.host.get("enabled"),
            "restart_pending": self.restart_pending,
            "task_load": self.task_load,
            "capacity": self.capacity(),
            "maxjobs": self.config.maxjobs,
            "uptime": round(time.time() - self.metrics.started, 1),
            "tasks": [run.report() for run in list(self.runs.values())],
        }

    def containers_report(self):
        return status_server.task_containers_report(self.config.worker_name, dict(self.runs))

    def task_report(self, task_id):
        run = self.runs.get(task_id)
        if run is not None:
            report = run.report()
            report["state"] = "running"
            return report
        return self.finished_runs.get(task_id)

    def metrics_text(self):
        gauges = (
            ("koji_adjutant_up", "1 while the worker runs.", 1),
            ("koji_adjutant_ready", "1 when the worker takes new tasks.", self.ready),
            ("koji_adjutant_task_load", "Summed weight of the running, non-waiting tasks.",
             float(self.task_load)),
            ("koji_adjutant_capacity", "The host's capacity.", float(self.capacity())),
            ("koji_adjutant_running_tasks", "Tasks being run now.", len(self.runs)),
            ("koji_adjutant_restart_pending", "1 while a graceful restart waits for idle.",
             self.restart_pending),
            ("koji_adjutant_uptime_seconds", "Seconds since the worker started.",
             round(time.time() - self.metrics.started, 1)),
        )
        return self.metrics.render(gauges)


# Ansible's own default collections path (its COLLECTIONS_PATHS setting), kept behind this
# worker's collection when neither the worker's settings nor the environment name one
ANSIBLE_DEFAULT_COLLECTIONS_PATH = "~/.ansible/collections:/usr/share/ansible/collections"

# the environment of every task playbook, beyond the daemon's own
PLAYBOOK_ENVVARS = {
    "ANSIBLE_LOCALHOST_WARNING": "False",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_NOCOLOR": "True",
    # a module that is not one of the collection's action plugins (ansible.builtin.wait_for)
    # goes to the interpreter on stdin: no temporary files per module call
    "ANSIBLE_PIPELINING": "True",
    # per-step timings in <log_dir>/tasks/<id>.log
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
}


def playbook_collections_path(config, environ=None):
    """``ANSIBLE_COLLECTIONS_PATH`` of the task playbooks.

    The playbooks must run the collection this daemon imports (one installation): when the
    daemon's ``koji_adjutant.builder`` is an installed one (``<dir>/ansible_collections/
    koji_adjutant/builder``, as ``pip install`` puts it in site-packages), ``<dir>`` comes
    first, so no other copy on the path shadows it. Then ``[adjutant] collections_path``,
    else the environment's ``ANSIBLE_COLLECTIONS_PATH``, else Ansible's default: where other
    collections (``ansible.posix``) are found. A source checkout (editable install) is not
    under ``ansible_collections``; there the environment names the collection (the checkout's
    ``collections/``, see docs/development.md)."""
    environ = os.environ if environ is None else environ
    paths = []
    root = config_lib.collection_root()
    parent = os.path.dirname(os.path.dirname(root))
    if os.path.basename(parent) == "ansible_collections":
        paths.append(os.path.dirname(parent))
    rest = (config.collections_path or environ.get("ANSIBLE_COLLECTIONS_PATH")
            or ANSIBLE_DEFAULT_COLLECTIONS_PATH)
    paths.extend(path for path in rest.split(os.pathsep) if path and path not in paths)
    return os.pathsep.join(paths)


RUNNER_SETTINGS = {"pexpect_timeout": 0.2, "suppress_ansible_output": True}


def playbook_envvars(config, private_dir=None):
    """``PLAYBOOK_ENVVARS`` and what the worker's settings add; for a run (``private_dir``),
    Ansible's local temporary directory inside the run's directory, which goes with it (a
    playbook killed by a cancel or a crash leaves nothing in ``~/.ansible/tmp``)."""
    envvars = dict(PLAYBOOK_ENVVARS)
    # ansible-playbook of the same installation as this daemon
    envvars["PATH"] = os.pathsep.join([os.path.dirname(sys.executable),
                                       os.environ.get("PATH", "/usr/bin:/bin")])
    envvars["ANSIBLE_COLLECTIONS_PATH"] = playbook_collections_path(config)
    if private_dir:
        envvars["ANSIBLE_LOCAL_TEMP"] = os.path.join(private_dir, "tmp")
    return envvars


def playbook_collection_problem(config, environ=None):
    """What is wrong with the ``koji_adjutant.builder`` collection the task playbooks would run
    (the first on their collections path), or None: another copy than this worker's, or one
    without the action plugins (its pipeline steps would then run as modules, an interpreter
    each)."""
    own = config_lib.collection_root()
    found = own
    for path in playbook_collections_path(config, environ).split(os.pathsep):
        candidate = os.path.join(os.path.expanduser(path), "ansible_collections",
                                 "koji_adjutant", "builder")
        if os.path.isdir(candidate):
            found = candidate
            break
    if os.path.realpath(found) != os.path.realpath(own):
        return ("the task playbooks would run the koji_adjutant.builder collection at %s, "
                "not this worker's own (%s): check [adjutant] collections_path and "
                "ANSIBLE_COLLECTIONS_PATH" % (found, own))
    if not os.path.isdir(os.path.join(found, "plugins", "action")):
        return ("the koji_adjutant.builder collection at %s has no action plugins: each "
                "pipeline step would start an interpreter of its own" % found)
    return None


def playbook_host_vars():
    """The inventory's localhost: the daemon's interpreter for any module that is not one
    of the collection's action plugins (the pipeline steps run in ansible-playbook's own
    process, which is the daemon's Python too)."""
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def ansible_core_version():
    """The ansible-core release the task playbooks run with (the daemon's own)."""
    try:
        return importlib.metadata.version("ansible-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def kill_orphan_playbooks(runs_dir, left_by="a previous run"):
    """Kill playbook processes a crashed worker left running (their process groups).

    ansible-runner starts ansible-playbook in a process group of its own, so
    killing the daemon does not end it; its command line names its private
    data dir under ``runs_dir``.  ansible-playbook's task workers (which run the
    modules) are in sessions of their own: their command line is the same, so
    they are found and killed too.  ``runs_dir`` may also be one run's private dir.
    """
    marker = os.path.abspath(runs_dir) + os.sep
    groups = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            if marker in cmdline:
                groups.add(os.getpgid(int(pid)))
        except (OSError, ProcessLookupError):
            continue
    groups.discard(os.getpgrp())
    for group in groups:
        LOG.info("killing playbook process group %s left by %s", group, left_by)
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    return groups


def run_worker(config, once=False):
    """Run the worker until SIGTERM (or one pass with ``once``); return the exit code."""
    try:
        worker = Worker(config)
    except task_types.TaskTypeError as exc:
        LOG.error("%s", exc)
        return 2
    worker.install_signal_handlers()
    try:
        worker.start()
    except hub_session.HubLoginError as exc:
        LOG.error("%s", exc)
        worker.stop_status_server()
        return 2
    except OSError as exc:
        if worker.status_server is None and config.monitoring_enabled:
            LOG.error("cannot serve status on %s:%d ([adjutant] monitoring_bind): %s",
                      config.monitoring_bind[0], config.monitoring_bind[1], exc)
            return 2
        raise
    if once:
        worker.update_tasks()
        worker.get_next_task()
        while worker.runs and not worker.stop_requested:
            worker.sleep(0.5)
            worker.update_tasks()
        LOG.info("status: %s", json.dumps(worker.status_report(), default=str))
        worker.shutdown()
        return 0
    return worker.run_forever()
