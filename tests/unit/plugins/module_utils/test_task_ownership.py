"""A task no longer ours (canceled, reassigned) gets no host call from a failure path or a
live log: the hub would refuse it ("host N does not own task M")."""

import contextlib
import types

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import build_task
from ansible_collections.koji_adjutant.builder.plugins.module_utils import subtasks
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result
from ansible_collections.koji_adjutant.builder.plugins.module_utils import uploads

HOST_ID = 7
TASK_ID = 1234


class Queued(object):
    def __init__(self, func, args):
        self.func, self.args, self.result = func, args, None


class Multi(object):
    def __init__(self, session):
        self.queued = []
        self.host = types.SimpleNamespace(getID=lambda: self.queue(session.host.getID))
        self.getTaskInfo = lambda task_id: self.queue(session.getTaskInfo, task_id)

    def queue(self, func, *args):
        self.queued.append(Queued(func, args))
        return self.queued[-1]


class FakeSession(object):
    """The hub as far as these calls go: one task, in ``state`` on host ``task_host``;
    every call is recorded, and the hub's refusals are those of a real hub."""

    def __init__(self, state="OPEN", task_host=HOST_ID):
        self.state, self.task_host = state, task_host
        self.calls = []
        self.uploaded = b""
        session = self

        class Host(object):
            def getID(self):
                session.calls.append("host.getID")
                return HOST_ID

            def failBuild(self, task_id, build_id):
                session.calls.append("host.failBuild")
                session.assert_ours(task_id)

        self.host = Host()

    def ours(self):
        return self.state == "OPEN" and self.task_host == HOST_ID

    def assert_ours(self, task_id):
        if not self.ours():
            raise koji.ActionNotAllowed("host %d does not own task %d" % (HOST_ID, task_id))

    def getTaskInfo(self, task_id):
        self.calls.append("getTaskInfo")
        return {"id": task_id, "state": koji.TASK_STATES[self.state], "host_id": self.task_host}

    @contextlib.contextmanager
    def multicall(self, strict=False):
        """koji's multicall: the calls are made when the block ends (one round trip)."""
        multi = Multi(self)
        self.calls.append("multiCall")
        yield multi
        for call in multi.queued:
            call.result = call.func(*call.args)

    def cancelTaskChildren(self, task_id):
        self.calls.append("cancelTaskChildren")
        if not self.ours():
            raise koji.ActionNotAllowed("Cannot cancel task, not owner")

    def rawUpload(self, chunk, offset, path, name, overwrite=False):
        self.calls.append("rawUpload")
        self.assert_ours(TASK_ID)
        self.uploaded = self.uploaded[:offset] + chunk
        return {"size": len(chunk),
                "hexdigest": koji.util.adler32_constructor(chunk).hexdigest()}


@pytest.mark.parametrize("state, task_host, ours", [
    ("OPEN", HOST_ID, True),
    ("CANCELED", HOST_ID, False),
    ("OPEN", HOST_ID + 1, False),
    ("FREE", None, False),
])
def test_task_ownership_is_one_round_trip(state, task_host, ours):
    session = FakeSession(state, task_host)
    assert task_result.task_ownership(session, TASK_ID) == (ours, state)
    assert session.calls == ["multiCall", "getTaskInfo", "host.getID"]
    # with the host id known (the daemon), only getTaskInfo
    session.calls = []
    assert task_result.task_ownership(session, TASK_ID, HOST_ID) == (ours, state)
    assert session.calls == ["getTaskInfo"]


def test_a_canceled_build_task_does_not_fail_its_build():
    session = FakeSession("CANCELED")
    assert build_task.fail_build(session, TASK_ID, 42) == (False, "CANCELED")
    assert "host.failBuild" not in session.calls
    session = FakeSession("OPEN")
    assert build_task.fail_build(session, TASK_ID, 42) == (True, "OPEN")
    assert "host.failBuild" in session.calls


def test_a_canceled_parent_cancels_no_children():
    session = FakeSession("CANCELED")
    subtasks.cancel_children(session, TASK_ID)
    assert "cancelTaskChildren" not in session.calls
    session = FakeSession("OPEN")
    subtasks.cancel_children(session, TASK_ID)
    assert "cancelTaskChildren" in session.calls


def follower(session, path):
    return uploads.LogFollower(session, str(path), TASK_ID, "build.log")


def test_a_refused_log_upload_stops_the_follower_for_good(tmp_path):
    log = tmp_path / "build.log"
    log.write_bytes(b"first\n")
    session = FakeSession()
    follow = follower(session, log)
    uploader = uploads.LiveLogUploader([follow], 3600).start()
    uploader._poll_all()
    assert session.uploaded == b"first\n"
    session.state = "CANCELED"
    with open(str(log), "ab") as handle:
        handle.write(b"second\n")
    uploader._poll_all()
    assert session.calls.count("rawUpload") == 2  # refused once, not retried
    assert "does not own task" in uploader.stopped and follow.stopped
    with open(str(log), "ab") as handle:
        handle.write(b"third\n")
    assert uploader.stop(check_task=True) == []  # not a failure of the step
    assert session.calls.count("rawUpload") == 2
    assert "getTaskInfo" not in session.calls


def test_after_a_failed_step_the_rest_goes_only_to_a_task_still_ours(tmp_path):
    log = tmp_path / "build.log"
    log.write_bytes(b"start\n")
    session = FakeSession("CANCELED")
    uploader = uploads.LiveLogUploader([follower(session, log)], 3600).start()
    assert uploader.stop(check_task=True) == []
    assert "rawUpload" not in session.calls
    assert "is CANCELED and not open on this host" in uploader.stopped

    session = FakeSession("OPEN")
    uploader = uploads.LiveLogUploader([follower(session, log)], 3600).start()
    assert uploader.stop(check_task=True) == []
    assert session.uploaded == b"start\n" and uploader.stopped is None


def test_the_check_costs_nothing_when_not_needed(tmp_path):
    log = tmp_path / "build.log"
    log.write_bytes(b"all of it\n")
    # a step that went well: no look-up
    session = FakeSession()
    uploads.LiveLogUploader([follower(session, log)], 3600).start().stop()
    assert session.calls == ["rawUpload"]
    # a failed step with nothing left to send: no look-up either
    session = FakeSession()
    follow = follower(session, log)
    follow.poll()
    uploads.LiveLogUploader([follow], 3600).start().stop(check_task=True)
    assert session.calls == ["rawUpload"]
