"""Benchmark: buildArch overhead and pickup latency (issue 2 targets).

* overhead = (task OPEN → CLOSED on the hub) − (a bare ``podman run … rpmbuild
  --rebuild`` of the same SRPM in the same image).  Target ≤ 1.5 s.
* pickup latency = task created → task OPEN (start_ts − create_ts), with the
  worker polling every second (``sleeptime = 1``) and each task created at a
  random moment of that second.  Target ≤ 1 s median.

Both are measured with the worker's defaults; each figure is printed with the
ansible-core release the task playbooks ran with.  ``--worker-python`` runs the worker
with another interpreter (a venv of another ansible-core release, with this checkout on
its ``PYTHONPATH``) while the dev hub runs here.  The per-step timings of the last
task (ansible.posix.profile_tasks, from the worker's task log) are printed after them.

Runs against the embedded dev hub on loopback; prints figures, asserts nothing.

    .venv/bin/python bench/buildarch_overhead.py [--runs 5]
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import koji

from koji_adjutant.images import DEFAULT_IMAGE, ensure_buildroot_image
from koji_adjutant_devhub.testing import DevHub, write_worker_config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(REPO_ROOT, "tests", "data", "specs", "hello.spec")


def ansible_core_version(python):
    """The ansible-core release of an interpreter (the worker's: its task playbooks run it)."""
    return subprocess.run([python, "-c", "import importlib.metadata as m; "
                           "print(m.version('ansible-core'))"], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()


# the worker's settings measured
WAYS = (
    ("default", {}),
)


def bare_rebuild(image, srpm):
    """Seconds for a bare container rpmbuild --rebuild of the SRPM (same image, no network)."""
    srpm_dir = os.path.dirname(srpm)
    start = time.time()
    subprocess.run(["podman", "run", "--rm", "--network", "none", "-v", "%s:/in:ro" % srpm_dir,
                    "--user", "kojibuilder", image, "rpmbuild", "--rebuild",
                    "--define", "_topdir /tmp/b", "/in/%s" % os.path.basename(srpm)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - start


def measure(hub, conf, log_dir, pkg, repo, runs, python=sys.executable):
    """(durations, pickups, steps) of ``runs`` buildArch tasks, one at a time, by a worker of
    ``conf``; ``steps``: the per-step timings of the last one (its task log's TASKS RECAP)."""
    worker = subprocess.Popen([python, "-m", "koji_adjutant.cli", "worker", "-c", conf],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    durations, pickups = [], []
    arrivals = random.Random(runs)
    try:
        for dummy in range(runs):
            # a task arrives at a random moment of the worker's 1 s poll, not right after the
            # previous task closed (which would time the pickup against the close)
            time.sleep(arrivals.uniform(0.0, 1.0))
            task_id = hub.make_task("buildArch", [pkg, "bench-build", "x86_64", True,
                                                  {"repo_id": repo["id"]}], arch="x86_64")
            info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=600)
            if info["state"] != koji.TASK_STATES["CLOSED"]:
                raise RuntimeError("task %s failed: %s" % (task_id, info))
            durations.append(info["completion_ts"] - info["start_ts"])
            pickups.append(info["start_ts"] - info["create_ts"])
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    return durations, pickups, step_timings(log_dir, task_id)


def step_timings(log_dir, task_id):
    """The TASKS RECAP lines (ansible.posix.profile_tasks) of a task's log on the worker."""
    try:
        with open(os.path.join(log_dir, "tasks", "%s.log" % task_id)) as handle:
            text = handle.read()
    except OSError:
        return []
    recap = text.split("TASKS RECAP", 1)[-1].splitlines()
    return [line.strip() for line in recap if line.rstrip().endswith("s") and " -" in line]


def figures(values):
    return "median %.2f s  (%s)" % (statistics.median(values),
                                    ", ".join("%.2f" % v for v in values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker-python", default=sys.executable,
                        help="the interpreter that runs the worker (default: this one)")
    args = parser.parse_args()
    ansible_core = ansible_core_version(args.worker_python)
    image = ensure_buildroot_image()
    with tempfile.TemporaryDirectory() as tmp, DevHub(topdir=os.path.join(tmp, "koji")) as hub:
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % tmp, SPEC], check=True,
                       stdout=subprocess.DEVNULL)
        srpm = os.path.join(tmp, "SRPMS", os.listdir(os.path.join(tmp, "SRPMS"))[0])
        hub.add_host("bench-builder", ["x86_64"], "bench")
        repo = hub.make_build_tag("bench-build", ["x86_64"])
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:8]
        hub.admin_session().uploadWrapper(srpm, upload_dir)
        pkg = "%s/%s" % (upload_dir, os.path.basename(srpm))
        results = {}
        bare = [bare_rebuild(image, srpm) for dummy in range(args.runs)]
        for name, settings in WAYS:
            conf = write_worker_config(os.path.join(tmp, "kojid-%s.conf" % name), hub,
                                       os.path.join(tmp, "w"), "bench-builder", "bench",
                                       # a worker id of its own: no other worker on the
                                       # machine touches its containers, nor it theirs
                                       adjutant=dict(settings, worker_id="bench-%s"
                                                     % uuid.uuid4().hex[:6]))
            try:
                results[name] = measure(hub, conf, os.path.join(tmp, "w", "log"), pkg, repo,
                                        args.runs, args.worker_python)
            except RuntimeError as exc:
                print(exc)
                return 1
    durations, pickups, steps = results["default"]
    overhead = statistics.median(durations) - statistics.median(bare)
    print("image                      %s" % DEFAULT_IMAGE)
    print("bare podman rpmbuild       %s" % figures(bare))
    print("buildArch open→close       %s  [ansible-core %s]" % (figures(durations), ansible_core))
    print("buildArch overhead         %.2f s   (target <= 1.5 s)  [ansible-core %s]"
          % (overhead, ansible_core))
    print("pickup latency (1 s poll)  median %.2f s  max %.2f s  (target <= 1 s median)  "
          "[ansible-core %s]" % (statistics.median(pickups), max(pickups), ansible_core))
    if steps:
        print("steps of the last task (profile_tasks, from the worker's task log):")
        for line in steps:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
