# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mail of kojid's tagNotification and buildNotification tasks.

The hub decides who is told (the recipients are task arguments); the builder looks up
what the mail says and sends it through ``smtphost`` as ``from_addr``, logging in when
``smtp_user`` and ``smtp_pass`` are set. The subject lines and ``X-Koji-*`` headers are
the ones kojid writes, because operators filter mail on them. An SMTP error fails the
task, as it does with kojid.
"""

from __future__ import annotations

import smtplib
import time

try:
    import koji
    import koji.util
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

CRLF = "\r\n"


def _message(headers, body_lines):
    lines = ["%s: %s" % (name, value) for name, value in headers]
    return CRLF.join(lines + [""] + body_lines + [""])


def send_mail(config, recipients, message):
    """Send ``message`` to ``recipients`` through ``smtphost`` (``host`` or ``host:port``)."""
    server = smtplib.SMTP(config.smtphost, timeout=60)
    try:
        if config.smtp_user and config.smtp_pass:
            server.login(config.smtp_user, config.smtp_pass)
        server.sendmail(config.from_addr, recipients, message.encode("utf-8"))
    finally:
        try:
            server.quit()
        except smtplib.SMTPException:
            pass


def tag_message(session, config, params):
    """The mail about a tag operation, or None when nobody is to be told."""
    recipients = params["recipients"]
    success = bool(params["is_successful"])
    if not recipients or (success and params.get("ignore_success")):
        return None
    build = session.getBuild(params["build_info"], strict=True)
    user = session.getUser(params["user_info"], strict=True)
    into_tag = session.getTag(params["tag_info"], strict=True) if params.get("tag_info") else None
    from_tag = session.getTag(params["from_info"], strict=True) if params.get("from_info") \
        else None
    if into_tag and from_tag:
        action = "moved"
    elif into_tag:
        action = "tagged"
    elif from_tag:
        action = "untagged"
    else:
        raise koji.GenericError("a tag notification needs a tag or a source tag")
    operation = action
    if from_tag:
        operation += " from %s" % from_tag["name"]
    if into_tag:
        operation += " into %s" % into_tag["name"]
    nvr = koji.buildLabel(build)
    status = "complete" if success else "failed"
    subject = "%s %s %s by %s" % (nvr, "successfully" if success else "unsuccessfully",
                                  operation, user["name"])
    headers = [("From", config.from_addr), ("Subject", subject),
               ("To", ", ".join(recipients)),
               ("X-Koji-Package", build["package_name"]), ("X-Koji-NVR", nvr),
               ("X-Koji-Draft", str(bool(build.get("draft", False)))),
               ("X-Koji-User", user["name"]), ("X-Koji-Status", status)]
    headers += [("X-Koji-Tag", tag["name"]) for tag in (from_tag, into_tag) if tag]
    body = ["Package: %s" % build["package_name"], "NVR: %s" % nvr,
            "User: %s" % user["name"], "Status: %s" % status,
            "Tag Operation: %s" % action]
    if from_tag:
        body.append("From Tag: %s" % from_tag["name"])
    if into_tag:
        body.append("Into Tag: %s" % into_tag["name"])
    body += ["", subject]
    if not success:
        body += ["Operation failed with the error:", "    %s" % params.get("failure_msg", "")]
    return _message(headers, body)


def _result_text(session, task_id):
    """A task's result as a line of text (a failed task's fault string)."""
    try:
        result = session.getTaskResult(task_id)
    except Exception as exc:  # a failed task's fault: koji errors and plain Faults
        result = getattr(exc, "faultString", None) or "%s: %s" % (type(exc).__name__, exc)
    return str(result).strip() or "Unknown"


def task_tree(session, task_id):
    """The build task and its descendants, parents first, with their outputs."""
    tasks = []
    pending = [task_id]
    while pending:
        current = pending.pop(0)
        info = session.getTaskInfo(current)
        if not info:
            continue
        host = session.getHost(info["host_id"]) if info.get("host_id") else None
        outputs = session.listTaskOutput(current, all_volumes=True)
        entry = {"id": current, "info": info, "host": host["name"] if host else None,
                 "state": koji.TASK_STATES[info["state"]].lower(),
                 "result": _result_text(session, current),
                 "logs": [], "rpms": [], "srpms": [], "misc": []}
        for name in sorted(outputs):
            if name.endswith(".log"):
                entry["logs"] += [(name, volume) for volume in outputs[name]]
            elif name.endswith(".src.rpm"):
                entry["srpms"].append(name)
            elif name.endswith(".rpm"):
                entry["rpms"].append(name)
            else:
                entry["misc"] += [(name, volume) for volume in outputs[name]]
        entry["logs"].sort(key=lambda item: (item[1], item[0]))
        entry["misc"].sort(key=lambda item: (item[1], item[0]))
        tasks.append(entry)
        pending[0:0] = [child["id"] for child in session.getTaskChildren(current)]
    return tasks


def _format_time(timestamp):
    if not timestamp:
        return ""
    return time.strftime("%a, %d %b %Y %H:%M:%S %Z", time.localtime(timestamp))


def build_message(session, config, task_id, params):
    """The mail about a finished build, or None when nobody is to be told."""
    recipients = params["recipients"]
    if not recipients:
        return None
    build, target, weburl = params["build"], params.get("target"), params["weburl"]
    nvr = koji.buildLabel(build)
    status = koji.BUILD_STATES[build["state"]].lower()
    dest_tag = target["dest_tag_name"] if target else None
    tasks = task_tree(session, build["task_id"]) if build.get("task_id") else []
    cancel_info = ""
    if status == "canceled":
        owner = session.getTaskInfo(task_id).get("owner")
        if owner:
            cancel_info = CRLF + "Canceled by: %s" % session.getUser(owner)["name"]
    failure = ""
    if status == "failed" and tasks:
        hosts = ", ".join("%s (%s)" % (t["host"], t["info"]["arch"]) for t in tasks
                          if t["host"] and t["state"] == "failed")
        failure = CRLF + "%s (%s) failed on %s:" % (nvr, build["id"], hosts) + CRLF + \
            "  " + tasks[0]["result"]
    changelog = koji.util.formatChangelog(
        session.getChangelogEntries(build["id"], queryOpts={"limit": 3})).replace("\n", CRLF)
    build_url = koji.PathInfo(topdir=config.primary_topurl or "").build(build)

    body = ["Package: %s" % nvr, "Tag: %s" % dest_tag, "Status: %s%s" % (status, cancel_info),
            "Built by: %s" % build["owner_name"], "ID: %s" % build["id"],
            "Started: %s" % _format_time(build.get("creation_ts")),
            "Finished: %s" % _format_time(build.get("completion_ts"))]
    if changelog:
        body += ["", "Changelog:" + CRLF + changelog.rstrip(CRLF)]
    if failure or cancel_info:
        body.append(failure or cancel_info)
    srpms = sorted(set(name for t in tasks for name in t["srpms"]))
    if srpms:
        body += ["", "SRPMS:"] + ["  %s" % name for name in srpms]
    for state in ("failed", "canceled", "closed"):
        group = [t for t in tasks if t["state"] == state]
        if not group:
            continue
        heading = "%s tasks:" % state.capitalize()
        body += ["", heading, "-" * len(heading), ""]
        for entry in group:
            body.append("Task %s on %s" % (entry["id"], entry["host"]) if entry["host"]
                        else "Task %s" % entry["id"])
            body.append("Task Type: %s" % koji.taskLabel(entry["info"]))
            for kind, files in (("logs", entry["logs"]), ("misc", entry["misc"])):
                if files:
                    body.append("%s:" % kind)
                    body += [" %s/getfile?taskID=%s&name=%s&volume=%s"
                             % (weburl, entry["id"], name, volume) for name, volume in files]
            if entry["rpms"]:
                arch = entry["info"].get("label") or ""
                body.append("rpms:")
                body += [" %s/%s/%s" % (build_url, arch, name) for name in entry["rpms"]]
            body.append("")
    body += ["", "Task Info: %s/taskinfo?taskID=%s" % (weburl, build.get("task_id")),
             "Build Info: %s/buildinfo?buildID=%s" % (weburl, build["id"])]
    headers = [("From", config.from_addr),
               ("Subject", "Package: %s Tag: %s Status: %s Built by: %s"
                % (nvr, dest_tag, status, build["owner_name"])),
               ("To", ", ".join(recipients)), ("X-Koji-Tag", dest_tag),
               ("X-Koji-Package", build["package_name"]),
               ("X-Koji-Builder", build["owner_name"]), ("X-Koji-Status", status),
               ("X-Koji-Draft", str(bool(build.get("draft", False))))]
    return _message(headers, body)


def deliver(config, task_id, method, params, message):
    """Send a composed notification; returns kojid's result text for the task."""
    send_mail(config, params["recipients"], message)
    if method == "tagNotification":
        return "sent notification of tag operation %i to: %s" % (
            task_id, ", ".join(params["recipients"]))
    return "sent notification of build %i to: %s" % (
        params["build"]["id"], ", ".join(params["recipients"]))
