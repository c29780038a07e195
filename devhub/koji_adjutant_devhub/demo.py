"""``make demo``: build a sample SRPM through the embedded dev hub and a real worker.

1. starts the dev hub (HTTP on loopback, state under build/demo/koji);
2. registers a build host and a build tag with a READY repo;
3. builds ``hello`` (a C program with a noarch subpackage) as an SRPM and uploads it;
4. starts the worker daemon (``koji-adjutant worker``) with a kojid.conf for that hub;
5. makes a ``buildArch`` task, waits for it, and prints the result and the RPM URLs.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import koji

from .testing import DevHub, write_worker_config

# This file is <repo>/devhub/koji_adjutant_devhub/demo.py.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_DIR = os.path.join(REPO_ROOT, "build", "demo")
SPEC = os.path.join(REPO_ROOT, "tests", "data", "specs", "hello.spec")
HOST, PASSWORD, TAG = "demo-builder", "demo-password", "demo-build"


def build_srpm(workdir):
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % workdir, SPEC], check=True,
                   stdout=subprocess.DEVNULL)
    srpm_dir = os.path.join(workdir, "SRPMS")
    return os.path.join(srpm_dir, sorted(os.listdir(srpm_dir))[0])


def main():
    if os.path.exists(DEMO_DIR):
        shutil.rmtree(DEMO_DIR)
    os.makedirs(DEMO_DIR)
    print("== starting the dev hub (state in %s)" % DEMO_DIR)
    with DevHub(topdir=os.path.join(DEMO_DIR, "koji")) as hub:
        hub.add_host(HOST, ["x86_64"], PASSWORD)
        repo = hub.make_build_tag(TAG, ["x86_64"])
        print("   hub %s, topurl %s, tag %s with repo %s" % (hub.url, hub.topurl, TAG, repo["id"]))
        srpm = build_srpm(os.path.join(DEMO_DIR, "rpmbuild"))
        upload_dir = "cli-build/%s" % uuid.uuid4().hex[:12]
        hub.admin_session().uploadWrapper(srpm, upload_dir)
        pkg = "%s/%s" % (upload_dir, os.path.basename(srpm))
        print("== uploaded %s" % pkg)
        config = write_worker_config(os.path.join(DEMO_DIR, "kojid.conf"), hub,
                                     os.path.join(DEMO_DIR, "worker"), HOST, PASSWORD)
        log_path = os.path.join(DEMO_DIR, "worker.log")
        print("== starting the worker (log: %s)" % log_path)
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "koji_adjutant.cli", "worker",
                                       "-c", config], stdout=log, stderr=subprocess.STDOUT)
        try:
            start = time.time()
            task_id = hub.make_task("buildArch", [pkg, TAG, "x86_64", True,
                                                  {"repo_id": repo["id"]}], arch="x86_64")
            print("== buildArch task %s created; waiting" % task_id)
            info = hub.wait_task(task_id, ["CLOSED", "FAILED", "CANCELED"], timeout=600)
            state = koji.TASK_STATES[info["state"]]
            print("== task %s is %s after %.1fs" % (task_id, state, time.time() - start))
            session = hub.admin_session()
            try:
                result = session.getTaskResult(task_id)
            except koji.GenericError as exc:
                print("   failed: %s" % exc)
                return 1
            for key in ("rpms", "srpms", "logs"):
                print("   %s:" % key)
                for path in result[key]:
                    print("     %s/work/%s" % (hub.topurl, path))
            print("   brootid: %s" % result["brootid"])
            return 0 if state == "CLOSED" else 1
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)


if __name__ == "__main__":
    sys.exit(main())
