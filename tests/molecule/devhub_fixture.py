"""A dev hub for the molecule scenarios, living across molecule's steps.

    python tests/molecule/devhub_fixture.py start DIR [--host-name N --host-password P]
    python tests/molecule/devhub_fixture.py build-task DIR   # a buildArch task, waited for
    python tests/molecule/devhub_fixture.py last-checkin DIR # the host's last host.updateHost
    python tests/molecule/devhub_fixture.py wait-checkin DIR --after TS [--timeout S]
    python tests/molecule/devhub_fixture.py stop DIR

``start`` serves a hub on all addresses (instances reach it at the podman bridge's gateway,
``host.containers.internal``) with its topdir at ``DIR/koji``, a build host, a build tag with
its ``build`` group and a READY repo, and an uploaded SRPM; it writes ``DIR/hub.json``
(url, topurl, topdir, port, pid, srpm, tag). ``build-task`` submits a buildArch of that SRPM
and waits for it to close, printing the result (exit status 1 with the fault otherwise).
``last-checkin`` prints the time (hub clock, seconds) of the build host's last check-in;
``wait-checkin`` waits until the host checks in after ``--after`` and is ready (exit
status 1 after ``--timeout`` seconds). ``stop`` stops the hub.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import koji

from koji_adjutant_devhub.testing import DevHub

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

GATEWAY_NAME = "host.containers.internal"
TAG = "molecule-build"
SPEC = os.path.join(ROOT, "tests", "data", "specs", "noarch-data.spec")


def state_path(directory):
    return os.path.join(directory, "hub.json")


def start(args):
    os.makedirs(args.dir, exist_ok=True)
    if os.path.exists(state_path(args.dir)):
        stop(args)
    # a fresh hub each time (an old one would still hold the old instance's session)
    shutil.rmtree(os.path.join(args.dir, "koji"), ignore_errors=True)
    shutil.rmtree(os.path.join(args.dir, "srpm"), ignore_errors=True)
    hub = DevHub(topdir=os.path.join(args.dir, "koji"), host="0.0.0.0", start=False)
    hub.start(port=args.port)
    hub.add_host(args.host_name, ["x86_64"], args.host_password, capacity=4.0)
    repo = hub.make_build_tag(TAG, ["x86_64"])
    out = os.path.join(args.dir, "srpm")
    subprocess.run(["rpmbuild", "-bs", "--define", "_topdir %s" % out, SPEC], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srpm_dir = os.path.join(out, "SRPMS")
    name = sorted(os.listdir(srpm_dir))[0]
    upload = "cli-build/%s" % uuid.uuid4().hex[:12]
    hub.admin_session().uploadWrapper(os.path.join(srpm_dir, name), upload)
    state = {"url": "http://%s:%d/kojihub" % (GATEWAY_NAME, hub.port),
             "topurl": "http://%s:%d/kojifiles" % (GATEWAY_NAME, hub.port),
             "local_url": "http://127.0.0.1:%d/kojihub" % hub.port,
             "topdir": hub.topdir, "port": hub.port, "pid": hub.proc.pid,
             "srpm": "%s/%s" % (upload, name), "tag": TAG, "repo_id": repo["id"],
             "host_name": args.host_name}
    with open(state_path(args.dir), "w") as handle:
        json.dump(state, handle, indent=2)
    # the server keeps running after this process exits
    hub.proc = None
    print(json.dumps(state))


def build_task(args):
    with open(state_path(args.dir)) as handle:
        state = json.load(handle)
    session = koji.ClientSession(state["local_url"],
                                 {"user": "kojiadmin", "password": "kojiadmin"})
    session.login()
    task_id = session.makeTask("buildArch", [state["srpm"], state["tag"], "noarch", True,
                                             {"repo_id": state["repo_id"]}], arch="noarch")
    deadline = time.time() + args.timeout
    while True:
        info = session.getTaskInfo(task_id)
        if info["state"] in (koji.TASK_STATES["CLOSED"], koji.TASK_STATES["FAILED"],
                             koji.TASK_STATES["CANCELED"]):
            break
        if time.time() > deadline:
            state = koji.TASK_STATES[info["state"]]
            print("task %d still %s after %ss" % (task_id, state, args.timeout))
            return 1
        time.sleep(1)
    host = session.getHost(info["host_id"]) if info.get("host_id") else None
    try:
        result = session.getTaskResult(task_id)
    except Exception as exc:  # a failed task's fault
        print("task %d failed on %s: %s" % (task_id, host and host["name"], exc))
        return 1
    print(json.dumps({"task_id": task_id, "host": host["name"], "result": result}))
    return 0


def admin_session(directory):
    with open(state_path(directory)) as handle:
        state = json.load(handle)
    session = koji.ClientSession(state["local_url"],
                                 {"user": "kojiadmin", "password": "kojiadmin"})
    session.login()
    return session, state


def last_checkin(args):
    session, state = admin_session(args.dir)
    host = session.getHost(state["host_name"], strict=True)
    print(session.getLastHostUpdate(host["id"], ts=True) or 0)
    return 0


def wait_checkin(args):
    session, state = admin_session(args.dir)
    host_id = session.getHost(state["host_name"], strict=True)["id"]
    started = time.time()
    while True:
        last = session.getLastHostUpdate(host_id, ts=True) or 0
        if last > args.after and session.getHost(host_id)["ready"]:
            print(json.dumps({"checked_in": last, "waited": round(time.time() - started, 1)}))
            return 0
        if time.time() - started > args.timeout:
            print("host %s has not checked in since %s (last: %s) after %ss"
                  % (state["host_name"], args.after, last, args.timeout))
            return 1
        time.sleep(1)


def stop(args):
    path = state_path(args.dir)
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        state = json.load(handle)
    try:
        os.kill(state["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.unlink(path)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "build-task", "last-checkin", "wait-checkin", "stop"):
        cmd = sub.add_parser(name)
        cmd.add_argument("dir")
        if name == "start":
            cmd.add_argument("--port", type=int, default=0)
            cmd.add_argument("--host-name", default="molecule-worker")
            cmd.add_argument("--host-password", default="molecule-secret")
        if name == "build-task":
            cmd.add_argument("--timeout", type=int, default=600)
        if name == "wait-checkin":
            cmd.add_argument("--after", type=float, required=True)
            cmd.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args(argv)
    commands = {"start": start, "build-task": build_task, "last-checkin": last_checkin,
                "wait-checkin": wait_checkin, "stop": stop}
    return commands[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
