"""Benchmark: buildroot set-up fresh vs cached, and newRepo+createrepo task time (issue 3).

A build tag gets N packages (built here with rpmbuild, imported into the dev
hub) that are all in its ``build`` group, so populating a buildroot installs N
packages from the koji repo.

* buildroot set-up = the buildArch steps "Start the container…" + "Install the
  buildroot's group…" + "Keep the buildroot…" (fresh) vs "Start the container…"
  (cached), from the worker's per-task timings (profile_tasks).  Target: cached
  ≥ 5× faster.
* newRepo task open→close (with its createrepo subtask) for the tag.

    .venv/bin/python bench/buildroot_and_repos.py [--packages 20] [--runs 3]
"""

import argparse
import glob
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid

import koji

from koji_adjutant.images import ensure_buildroot_image
from koji_adjutant_devhub.testing import BUILD_GROUP_PACKAGES, DevHub, write_worker_config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(REPO_ROOT, "tests", "data", "specs", "hello.spec")
SETUP_STEPS = ("Start the container and install the buildroot configuration",
               "Install the buildroot's group from the koji repo",
               "Keep the buildroot with its group installed")
STEP_TIME = re.compile(r"^(.*?) -+ ([0-9.]+)s$")


def make_packages(workdir, count, size_kb):
    """``count`` noarch packages of ``size_kb`` KiB each (and their SRPMs), built here."""
    names = []
    for number in range(count):
        name = "bench-group-%02d" % number
        spec = os.path.join(workdir, "%s.spec" % name)
        with open(spec, "w") as handle:
            handle.write("Name: %s\nVersion: 1.0\nRelease: 1\nSummary: group package\n"
                         "License: MIT\nBuildArch: noarch\n%%description\nx\n%%prep\n%%build\n"
                         "%%install\nmkdir -p %%{buildroot}/usr/share/%s\n"
                         "head -c %d /dev/urandom > %%{buildroot}/usr/share/%s/data\n"
                         "%%files\n/usr/share/%s\n" % (name, name, size_kb * 1024, name, name))
        subprocess.run(["rpmbuild", "-ba", "--define", "_topdir %s/rpmbuild" % workdir, spec],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names.append(name)
    rpms = glob.glob(os.path.join(workdir, "rpmbuild", "RPMS", "noarch", "*.rpm")) + \
        glob.glob(os.path.join(workdir, "rpmbuild", "SRPMS", "*.src.rpm"))
    return names, rpms


def step_times(log_path):
    times = {}
    with open(log_path) as handle:
        for line in handle:
            match = STEP_TIME.match(line.strip())
            if match:
                times[match.group(1).strip()] = float(match.group(2))
    return times


def setup_seconds(times):
    return sum(seconds for name, seconds in times.items()
               if any(name.startswith(step) for step in SETUP_STEPS))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=140,
                        help="packages in the build group (a Fedora buildroot has about 140)")
    parser.add_argument("--size-kb", type=int, default=2048,
                        help="installed size of each group package (KiB)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ensure_buildroot_image()
    with tempfile.TemporaryDirectory() as tmp, DevHub(topdir=os.path.join(tmp, "koji")) as hub:
        names, rpms = make_packages(tmp, args.packages, args.size_kb)
        subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s/rpmbuild" % tmp, HELLO],
                       check=True, stdout=subprocess.DEVNULL)
        hello = glob.glob(os.path.join(tmp, "rpmbuild", "SRPMS", "hello-*.src.rpm"))[0]
        hub.add_host("bench-builder", ["x86_64"], "bench", channels=("default", "createrepo"))
        tag = "bench-cache"
        hub.make_tag_with_repo(tag, ["x86_64"])
        hub.import_rpms(rpms, tag=tag)
        hub.add_group(tag, "build", tuple(BUILD_GROUP_PACKAGES) + tuple(names))
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:8]
        hub.admin_session().uploadWrapper(hello, upload_dir)
        pkg = "%s/%s" % (upload_dir, os.path.basename(hello))
        conf = write_worker_config(os.path.join(tmp, "kojid.conf"), hub,
                                   os.path.join(tmp, "w"), "bench-builder", "bench",
                                   adjutant={"worker_id": "bench-%s" % uuid.uuid4().hex[:6]})
        worker = subprocess.Popen([sys.executable, "-m", "koji_adjutant.cli", "worker", "-c",
                                   conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        session = hub.admin_session()
        try:
            newrepo = []
            for dummy in range(args.runs):
                task_id = hub.make_task("newRepo", [tag], channel="createrepo")
                info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=600)
                if info["state"] != koji.TASK_STATES["CLOSED"]:
                    print("newRepo %s failed" % task_id)
                    return 1
                newrepo.append(info["completion_ts"] - info["start_ts"])
            repo = session.getRepo(tag)
            fresh, cached = [], []
            for attempt in range(args.runs + 1):
                task_id = hub.make_task("buildArch", [pkg, tag, "x86_64", True,
                                                      {"repo_id": repo["id"]}], arch="x86_64")
                info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=600)
                if info["state"] != koji.TASK_STATES["CLOSED"]:
                    print("buildArch %s failed" % task_id)
                    return 1
                log = os.path.join(tmp, "w", "log", "tasks", "%d.log" % task_id)
                for dummy in range(50):
                    if os.path.exists(log):
                        break
                    subprocess.run(["sleep", "0.2"], check=True)
                seconds = setup_seconds(step_times(log))
                (fresh if attempt == 0 else cached).append(seconds)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    print("group packages from the koji repo   %d x %d KiB" % (args.packages, args.size_kb))
    print("newRepo+createrepo task (open→close) median %.2f s  (%s)" % (
        statistics.median(newrepo), ", ".join("%.2f" % n for n in newrepo)))
    print("buildroot set-up, fresh              %.2f s" % fresh[0])
    print("buildroot set-up, cached             median %.2f s  (%s)" % (
        statistics.median(cached), ", ".join("%.2f" % c for c in cached)))
    print("cached speed-up                      %.1fx  (target >= 5x)" % (
        fresh[0] / statistics.median(cached)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
