"""tagNotification and buildNotification tasks: the mail the hub asks for, sent through
smtphost with kojid's subjects and X-Koji headers (issue 4)."""

import email
import os
import subprocess
import uuid

import koji
import pytest

from e2e_support import SmtpSink, WorkerProcess, free_port, task_fault, write_worker_config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SPECS = os.path.join(os.path.dirname(HERE), "data", "repo-specs")


@pytest.fixture(scope="module")
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def mail_worker(tmp_path, hub, buildroot_image, smtp):
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_kojid={"smtphost": "127.0.0.1:%d" % smtp.port,
                                              "from_addr": "Koji <koji@example.test>"})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def tagged_build(tmp_path_factory, hub):
    """An imported notify-pkg build and a tag it can be tagged into."""
    out = tmp_path_factory.mktemp("rpms")
    spec = out / "notify-pkg.spec"
    spec.write_text(open(os.path.join(REPO_SPECS, "dist-test.spec")).read().replace(
        "dist-test", "notify-pkg"))
    subprocess.run(["rpmbuild", "-ba", "--define", "_topdir %s" % out, str(spec)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paths = [str(p) for p in out.glob("RPMS/noarch/*.rpm")] + \
        [str(p) for p in out.glob("SRPMS/*.src.rpm")]
    build = hub.import_rpms(paths)[0]
    session = hub.admin_session()
    tag = "e2e-notify-%s" % uuid.uuid4().hex[:6]
    session.createTag(tag, arches="x86_64")
    return session.getBuild(build["id"]), session.getTag(tag)


def wait_done(hub, task_id):
    return hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)


def test_tag_notification_mail(hub, mail_worker, smtp, tagged_build):
    build, tag = tagged_build
    session = hub.admin_session()
    admin = session.getUser("kojiadmin")
    recipients = ["alice@example.test", "bob@example.test"]
    ok = hub.make_task("tagNotification", [recipients, True, tag["id"], None, build["id"],
                                           admin["id"], False, ""])
    failed = hub.make_task("tagNotification", [recipients[:1], False, tag["id"], None,
                                               build["id"], admin["id"], False,
                                               "package notify-pkg not in list for tag"])
    quiet = hub.make_task("tagNotification", [recipients, True, tag["id"], None, build["id"],
                                              admin["id"], True, ""])
    for task_id in (ok, failed, quiet):
        assert wait_done(hub, task_id)["state"] == koji.TASK_STATES["CLOSED"], \
            task_fault(session, task_id)
    assert session.getTaskResult(ok) == "sent notification of tag operation %d to: %s" % (
        ok, ", ".join(recipients))
    assert session.getTaskResult(quiet) is None

    mails = dict((email.message_from_string(m["data"])["Subject"], m) for m in smtp.messages)
    nvr = build["nvr"]
    success = mails["%s successfully tagged into %s by kojiadmin" % (nvr, tag["name"])]
    assert success["rcpt_to"] == recipients
    assert success["mail_from"].strip("<>") == "koji@example.test"
    headers = email.message_from_string(success["data"])
    assert headers["From"] == "Koji <koji@example.test>"
    assert headers["X-Koji-Package"] == "notify-pkg" and headers["X-Koji-NVR"] == nvr
    assert headers["X-Koji-Status"] == "complete" and headers["X-Koji-Tag"] == tag["name"]
    assert headers["X-Koji-User"] == "kojiadmin"
    failure = mails["%s unsuccessfully tagged into %s by kojiadmin" % (nvr, tag["name"])]
    body = email.message_from_string(failure["data"]).get_payload()
    assert "Operation failed with the error:" in body
    assert "package notify-pkg not in list for tag" in body
    assert len(smtp.messages) == 2


def test_build_notification_mail(hub, mail_worker, smtp, tagged_build):
    build, _tag = tagged_build
    session = hub.admin_session()
    before = len(smtp.messages)
    task_id = hub.make_task("buildNotification", [["carol@example.test"], build, None,
                                                  "http://koji.example.test/koji"])
    assert wait_done(hub, task_id)["state"] == koji.TASK_STATES["CLOSED"], \
        task_fault(session, task_id)
    assert session.getTaskResult(task_id) == \
        "sent notification of build %d to: carol@example.test" % build["id"]
    message = email.message_from_string(smtp.messages[before]["data"])
    assert message["Subject"] == "Package: %s Tag: None Status: complete Built by: %s" % (
        build["nvr"], build["owner_name"])
    assert message["X-Koji-Builder"] == build["owner_name"]
    body = message.get_payload()
    assert "Build Info: http://koji.example.test/koji/buildinfo?buildID=%d" % build["id"] in body


def test_unreachable_smtp_host_fails_the_task(tmp_path, hub, buildroot_image, tagged_build):
    build, tag = tagged_build
    config = write_worker_config(tmp_path / "kojid.conf", hub, str(tmp_path / "work"),
                                 extra_kojid={"smtphost": "127.0.0.1:%d" % free_port()})
    proc = WorkerProcess(config, str(tmp_path / "worker.log")).start()
    try:
        task_id = hub.make_task("tagNotification", [["dan@example.test"], True, tag["id"], None,
                                                    build["id"], "kojiadmin", False, ""])
        assert wait_done(hub, task_id)["state"] == koji.TASK_STATES["FAILED"]
    finally:
        proc.stop()
    fault = task_fault(hub.admin_session(), task_id)
    assert "cannot send the notification through 127.0.0.1:" in str(fault)
    assert "Connection refused" in str(fault)
