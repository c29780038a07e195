"""Benchmark: throughput at capacity 2 and the worker daemon's memory (issue 6 targets).

* throughput: 20 trivial buildArch tasks (a noarch package) submitted at once to a
  worker with capacity 2 (two buildArch tasks at a time, weight 1.5 each).
  ideal = ceil(20 / 2) x the median time of one task run alone (after a first task that
  builds the repo's buildroot cache image, which the batch's tasks start from; each once the
  worker is idle again; ``--solo-runs`` before the batch and as many after it, as the
  machine's speed drifts);
  efficiency = ideal / measured makespan, from the first task's start on the hub (openTask)
  to the last one's close: the batch's own throughput (how long the worker took to notice the
  batch, up to one ``sleeptime``, is pickup latency, a target of its own, and is printed
  beside it; it varied the figure by up to 5 % from run to run).  Target >= 0.8.  Measured
  twice: with the dev hub's scheduler run at most once a second (its default; koji's
  RunInterval is 60 s), and run whenever a host with nothing assigned asks for work
  (interval 0), which leaves the worker's own part.  The CPU time of the whole machine
  during the batch, per task, gives the bound a CPU-bound batch cannot beat: tasks x CPU
  per task / cpus.  The ideal leaves
  out what the worker spends on a task before the hub opens it and after the hub has closed
  it (the playbook's start, the container's removal, the run's clean-up), which on a
  CPU-bound machine slows the batch down; so the same 20 tasks are also run one at a time
  (capacity 1), and capacity 2's speed-up over that is printed too (2.0 is perfect).
* daemon RSS (VmRSS of the ``koji-adjutant worker`` process, not of its
  playbooks): idle after start-up, and the peak while the 20 tasks run.
  Targets <= 80 MB idle, <= 150 MB busy.  The peak RSS of a task playbook's
  ``ansible-playbook`` process is printed too (one per running task).

Each figure is printed with the ansible-core release the task playbooks ran with.

Runs against the embedded dev hub on loopback; prints figures, asserts nothing.

    .venv/bin/python bench/throughput_and_memory.py [--tasks 20] [--solo-runs 5]
        [--scheduler-intervals 1,0] [--no-capacity-1]
"""

import argparse
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import koji

from koji_adjutant.images import ensure_buildroot_image
from koji_adjutant.worker.daemon import ansible_core_version
from koji_adjutant_devhub.testing import DevHub, write_worker_config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(REPO_ROOT, "tests", "data", "specs", "noarch-data.spec")
# the release the worker's task playbooks run with (the worker's own ansible-core)
ANSIBLE_CORE = ansible_core_version()


def rss_mb(pid):
    """VmRSS of a process in MB (None once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.25):
        super(RssSampler, self).__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append(value)
            self.stopped.wait(self.interval)


def playbook_pids(runs_dir):
    """The ansible-playbook processes of the worker's runs (not their task workers, which
    are forked from them and share their pages)."""
    marker = os.path.abspath(runs_dir).encode() + b"/"
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if b"ansible-playbook" in cmdline and marker in cmdline:
            found[int(pid)] = cmdline
    playbooks = []
    for pid, cmdline in found.items():
        try:
            with open("/proc/%d/stat" % pid) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if found.get(ppid) != cmdline:
            playbooks.append(pid)
    return playbooks


class PlaybookSampler(RssSampler):
    """The largest RSS of one running task playbook's ansible-playbook process."""

    def run(self):
        while not self.stopped.is_set():
            values = [rss_mb(pid) for pid in playbook_pids(self.pid)]
            self.samples.extend(value for value in values if value is not None)
            self.stopped.wait(self.interval)


def run_task(hub, pkg, repo):
    return hub.make_task("buildArch", [pkg, "bench-build", "noarch", True,
                                       {"repo_id": repo["id"]}], arch="noarch")


def solo_runs(hub, pkg, repo, count):
    """``count`` tasks one at a time, each once the worker is idle again (the last one's
    container removed and its run reaped); their open → close times."""
    times = []
    for dummy in range(count):
        task_id = run_task(hub, pkg, repo)
        info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=600)
        if info["state"] != koji.TASK_STATES["CLOSED"]:
            raise RuntimeError("task %s failed: %s" % (task_id, info))
        times.append(info["completion_ts"] - info["start_ts"])
        time.sleep(1.0)
    return times


def busy_cpu_seconds():
    """CPU time spent by the whole machine so far (every cpu, not idle or waiting)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / float(os.sysconf("SC_CLK_TCK"))


def batch(args, interval, sample_idle, capacity=2):
    """One worker and one dev hub: the solo runs, then the batch; figures as a dict."""
    result = {"interval": interval, "capacity": capacity}
    with tempfile.TemporaryDirectory() as tmp, DevHub(topdir=os.path.join(tmp, "koji"),
                                                      scheduler_interval=interval) as hub:
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % tmp, SPEC], check=True,
                       stdout=subprocess.DEVNULL)
        srpm = os.path.join(tmp, "SRPMS", os.listdir(os.path.join(tmp, "SRPMS"))[0])
        hub.add_host("bench-builder", ["x86_64"], "bench", capacity=float(capacity))
        repo = hub.make_build_tag("bench-build", ["x86_64"])
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:8]
        hub.admin_session().uploadWrapper(srpm, upload_dir)
        pkg = "%s/%s" % (upload_dir, os.path.basename(srpm))
        conf = write_worker_config(os.path.join(tmp, "kojid.conf"), hub,
                                   os.path.join(tmp, "w"), "bench-builder", "bench",
                                   # a worker id of its own: no other worker on the machine
                                   # touches its containers, nor it theirs
                                   adjutant={"capacity": str(capacity),
                                             "worker_id": "bench-%s" % uuid.uuid4().hex[:6]})
        worker = subprocess.Popen([sys.executable, "-m", "koji_adjutant.cli", "worker", "-c",
                                   conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(10)
            if sample_idle:
                idle = RssSampler(worker.pid)
                idle.start()
                time.sleep(10)
                idle.stopped.set()
                idle.join()
                result["idle"] = idle.samples
            # the first task of the repo builds its buildroot cache image (a fresh buildroot:
            # the group installed); the batch's tasks all start from that image, and so do
            # the solo runs that measure the ideal
            warmup = run_task(hub, pkg, repo)
            info = hub.wait_task(warmup, ["CLOSED", "FAILED"], timeout=600)
            if info["state"] != koji.TASK_STATES["CLOSED"]:
                raise RuntimeError("task %s failed: %s" % (warmup, info))
            solo_count = args.solo_runs if capacity > 1 else 0
            solo = solo_runs(hub, pkg, repo, solo_count)
            busy = RssSampler(worker.pid)
            busy.start()
            playbooks = PlaybookSampler(os.path.join(tmp, "w", "state", "runs"))
            playbooks.start()
            start, cpu_start = time.time(), busy_cpu_seconds()
            ids = [run_task(hub, pkg, repo) for dummy in range(args.tasks)]
            # (the figures come from the hub's timestamps: polling more often would only take
            # CPU from the batch)
            infos = [hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=3600, interval=1.0)
                     for task_id in ids]
            first_open = min(i["start_ts"] for i in infos)
            makespan = max(i["completion_ts"] for i in infos) - first_open
            result["first_pickup"] = first_open - start
            result["cpu_per_task"] = (busy_cpu_seconds() - cpu_start) / args.tasks
            for sampler in (busy, playbooks):
                sampler.stopped.set()
                sampler.join()
            time.sleep(5)
            # the machine's speed drifts: the ideal is taken from runs before and after it
            solo += solo_runs(hub, pkg, repo, solo_count)
            result.update(busy=busy.samples, playbooks=playbooks.samples,
                          after=rss_mb(worker.pid))
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    result.update(solo=solo, infos=infos, makespan=makespan,
                  failed=[i["id"] for i in infos if i["state"] != koji.TASK_STATES["CLOSED"]])
    return result


def print_batch(args, result):
    one = statistics.median(result["solo"])
    ideal = math.ceil(args.tasks / 2.0) * one
    makespan = result["makespan"]
    print("scheduler interval %g s%s  [ansible-core %s]" % (
        result["interval"], " (the dev hub's default)" if result["interval"] == 1 else
        " (scheduler run at every poll: the worker's own part)" if result["interval"] == 0
        else "", ANSIBLE_CORE))
    print("  one noarch buildArch alone median %.2f s  (%s)"
          % (one, ", ".join("%.2f" % s for s in result["solo"])))
    print("  first task taken           %.2f s after the batch was submitted (the worker's "
          "next poll: pickup latency)" % result["first_pickup"])
    failed = "; FAILED: %s" % result["failed"] if result["failed"] else ""
    print("  %d tasks at capacity 2     makespan %.1f s (first open to last close), ideal %.1f "
          "s, efficiency %.2f (target >= 0.8)%s"
          % (args.tasks, makespan, ideal, ideal / makespan, failed))
    # where the makespan goes: each task's own time with another one beside it, and the time
    # a slot stands empty between two tasks (close, the hub's next assignment, the next poll,
    # the take)
    together = [i["completion_ts"] - i["start_ts"] for i in result["infos"]]
    print("  open→close two at a time   median %.2f s (alone %.2f s: the two share the cpus)"
          % (statistics.median(together), one))
    print("  a slot empty between tasks mean %.2f s (2 x makespan - the tasks' time, per task)"
          % max(0.0, (2 * makespan - sum(together)) / len(together)))
    cpus = os.cpu_count() or 1
    bound = args.tasks * result["cpu_per_task"] / cpus
    ceiling = min(1.0, ideal / bound) if bound else 1.0
    print("  cpu time per task          %.2f s on the whole machine (ansible-playbook and its "
          "task workers, podman, conmon, runc, the hub); on %d cpus the batch takes at least %.1f s, "
          "efficiency at most %.2f" % (result["cpu_per_task"], cpus, bound, ceiling))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--solo-runs", type=int, default=5,
                        help="tasks run alone before the batch, and again after it")
    parser.add_argument("--scheduler-intervals", default="1,0",
                        help="dev hub scheduler intervals to measure, comma-separated")
    parser.add_argument("--no-capacity-1", dest="capacity_1", action="store_false",
                        help="leave out the batch run one task at a time (the speed-up)")
    args = parser.parse_args()
    ensure_buildroot_image()
    intervals = [float(value) for value in args.scheduler_intervals.split(",")]
    results = []
    try:
        for number, interval in enumerate(intervals):
            results.append(batch(args, interval, sample_idle=number == 0))
        # one at a time, with the last interval
        alone = batch(args, intervals[-1], sample_idle=False, capacity=1) if (
            args.capacity_1) else None
    except RuntimeError as exc:
        print(exc)
        return 1
    for result in results:
        print_batch(args, result)
    if alone:
        print("capacity 1 (interval %g s)   %d tasks one at a time: makespan %.1f s (first open "
              "to last close), cpu time "
              "per task %.2f s; capacity 2 is %.2f x as fast (2.00 would be perfect)  "
              "[ansible-core %s]"
              % (alone["interval"], args.tasks, alone["makespan"], alone["cpu_per_task"],
                 alone["makespan"] / results[-1]["makespan"], ANSIBLE_CORE))
    first = results[0]
    busy = [value for result in results for value in result["busy"]]
    playbooks = [value for result in results for value in result["playbooks"]]
    print("daemon RSS idle              median %.1f MB, max %.1f MB  (target <= 80 MB)  "
          "[ansible-core %s]" % (statistics.median(first["idle"]), max(first["idle"]),
                                 ANSIBLE_CORE))
    print("daemon RSS busy              max %.1f MB; %.1f MB after the run  (target <= 150 MB)"
          "  [ansible-core %s]" % (max(busy), first["after"] or 0.0, ANSIBLE_CORE))
    if playbooks:
        print("ansible-playbook RSS         max %.1f MB per running task playbook (its own "
              "process, not the daemon's)  [ansible-core %s]" % (max(playbooks), ANSIBLE_CORE))
    print("cpus                         %d (two concurrent tasks share them with their "
          "ansible-playbook processes)" % (os.cpu_count() or 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
