"""Build and tag notifications (kojihub's build_notification and tag_notification).

kojihub decides who to tell about a finished (or failed, or canceled) build and
about a tagging result, and makes a ``buildNotification`` or ``tagNotification``
task for a builder to send the mail.  Recipients are the users subscribed to
the package/tag (the dev hub has no subscriptions), the build's owner and the
package's owner in the tag, as ``<user>@<EmailDomain>``.

The dev hub records every decision in its ``notifications`` table.  It makes
the tasks only with ``serve --notification-tasks`` (a stock kojihub makes them
unless ``DisableNotifications`` is set); without it no builder has to run
notification tasks.
"""

import json
import time

import koji

from . import builds
from . import packages
from . import tags
from . import tasks
from . import users

BS = koji.BUILD_STATES


def recipients(hub, build, tag_id, state):
    """Addresses to notify about build (and tag_id), kojihub's get_notification_recipients."""
    domain = hub.config.email_domain
    found = []
    if build and (hub.config.notify_on_success or state != BS['COMPLETE']):
        found.append((build['owner_id'], '%s@%s' % (build['owner_name'], domain)))
        if tag_id:
            listed = packages.read_package_list(hub, tagID=tag_id, pkgID=build['package_id'],
                                                inherit=True).get(build['package_id'])
            if listed and not listed['blocked']:
                owner = users.get_user(hub, listed['owner_id'], strict=True)
                if owner['status'] == koji.USER_STATUS['NORMAL'] and \
                        owner['usertype'] == koji.USERTYPES['NORMAL']:
                    found.append((owner['id'], '%s@%s' % (owner['name'], domain)))
    return sorted(set(email for _user_id, email in found))


def _record(hub, **values):
    values['recipients'] = json.dumps(values['recipients'])
    for key in ('is_successful', 'ignore_success'):
        if values.get(key) is not None:
            values[key] = 1 if values[key] else 0
    return hub.db.insert('notifications', ts=time.time(), **values)


def build_target_of_task(hub, task_id):
    """The build target named by a build task's request (kojihub's _get_build_target)."""
    info = tasks.Task(hub, task_id).get_info(request=True)
    request = info['request']
    if info['method'] in ('build', 'maven') and len(request) > 1 and request[1]:
        return tags.get_build_target(hub, request[1])
    if info['method'] == 'winbuild' and len(request) > 2 and request[2]:
        return tags.get_build_target(hub, request[2])
    return None


def build_notification(hub, task_id, build_id):
    """A build finished (COMPLETE, FAILED or CANCELED): notify its owners."""
    build = builds.get_build(hub, build_id, strict=True)
    target = build_target_of_task(hub, task_id)
    dest_tag = target['dest_tag'] if target else None
    if build['state'] == BS['BUILDING']:
        raise koji.GenericError('never send notifications for incomplete builds')
    emails = recipients(hub, build, dest_tag, build['state'])
    notify_task = None
    if emails and hub.config.notification_tasks:
        notify_task = tasks.make_task(hub, 'buildNotification',
                                      [emails, build, target, hub.config.web_url])
    _record(hub, type='build', build_id=build['id'], task_id=task_id, tag_id=dest_tag,
            state=build['state'], recipients=emails, notify_task_id=notify_task)
    return notify_task


def tag_notification(hub, is_successful, tag_id, from_id, build_id, user_id,
                     ignore_success=False, failure_msg=''):
    """A tagging (or untagging) result: notify the build's and the package's owners."""
    if user_id and not isinstance(user_id, int):
        user_id = users.get_user(hub, user_id, strict=True)['id']
    state = BS['COMPLETE'] if is_successful else BS['FAILED']
    build = builds.get_build(hub, build_id)
    if not build:
        return None
    emails = set()
    for tag in (tag_id, from_id):
        if tag:
            taginfo = tags.get_tag(hub, tag)
            if taginfo:
                emails.update(recipients(hub, build, taginfo['id'], state))
    emails = sorted(emails)
    notify_task = None
    if emails and not (is_successful and ignore_success) and hub.config.notification_tasks:
        notify_task = tasks.make_task(hub, 'tagNotification',
                                      [emails, is_successful, tag_id, from_id, build_id,
                                       user_id, ignore_success, failure_msg])
    _record(hub, type='tag', build_id=build['id'], tag_id=tag_id, from_id=from_id,
            user_id=user_id, state=state, is_successful=bool(is_successful),
            ignore_success=bool(ignore_success), failure_msg=failure_msg, recipients=emails,
            notify_task_id=notify_task)
    return notify_task


def list_notifications(hub):
    """Every recorded notification, oldest first (for tests and operators)."""
    rows = hub.db.query('SELECT * FROM notifications ORDER BY id')
    for row in rows:
        row['recipients'] = json.loads(row['recipients'])
        for key in ('is_successful', 'ignore_success'):
            if row[key] is not None:
                row[key] = bool(row[key])
    return rows
