# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Uploading task output to the hub, including logs while they grow.

Files go to the task's upload directory ``tasks/<id % 10000>/<id>`` (koji's
``pathinfo.taskrelpath``) with ``ClientSession.uploadWrapper`` (koji's fast
upload).  Logs are sent incrementally, once a second, from the position reached
so far, with ``rawUpload`` and an adler32 check — what kojid does, so that
``koji watch-logs`` and the web UI show a build log as it is written.

Once the task is no longer OPEN on this host (canceled, or given to another host) the hub
refuses every upload into its directory (``ActionNotAllowed``).  A follower stops for good
at the first such refusal (no retry), and the last send of a step that did not succeed (its
container was killed: what a cancel does) asks the hub first, in one round trip, whether
the task is still ours (:func:`task_result.task_ownership`).  A step that goes well pays
nothing for either.
"""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result

try:
    import koji
    from koji.util import adler32_constructor
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

CHUNK_SIZE = 65536
UPLOAD_RETRIES = 5
RETRY_DELAY = 10.0


class UploadError(Exception):
    """A file could not be uploaded to the hub."""


class TaskNotOurs(UploadError):
    """The hub refuses uploads for the task: it is no longer OPEN on this host."""


def task_upload_path(task_id):
    """``tasks/<id % 10000>/<id>``: where a task's files go, below ``work/``."""
    return koji.pathinfo.taskrelpath(int(task_id))


def check_upload_name(name):
    """Reject names the hub refuses (it takes no ``/`` and no leading dot)."""
    if not name or "/" in name or name.startswith("."):
        raise UploadError("invalid upload file name %r: it must not be empty, contain '/' "
                          "or start with '.'" % name)
    return name


def upload_file(session, local_path, task_id, name=None):
    """Upload one file into the task's upload dir; return its ``tasks/...`` path."""
    name = check_upload_name(name or os.path.basename(local_path))
    if not os.path.isfile(local_path):
        raise UploadError("cannot upload %s: no such file" % local_path)
    path = task_upload_path(task_id)
    try:
        session.uploadWrapper(local_path, path, name)
    except koji.GenericError as exc:
        raise UploadError("upload of %s to %s/%s failed: %s" % (local_path, path, name, exc))
    return "%s/%s" % (path, name)


def tree_files(top):
    """The regular files below ``top`` (symbolic links left out), each as
    ``<reldir>/<name>`` (``./<name>`` at the top), as kojid's dist repo manifest names them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        reldir = os.path.relpath(dirpath, top)
        for name in sorted(filenames):
            if not os.path.islink(os.path.join(dirpath, name)):
                found.append("%s/%s" % (reldir, name))
    return found


def upload_tree(session, top, task_id):
    """Upload every file of :func:`tree_files` to the same relative place in the task's
    upload dir; returns their ``tasks/...`` paths."""
    base = task_upload_path(task_id)
    uploaded = []
    for relpath in tree_files(top):
        reldir, name = os.path.split(relpath)
        check_upload_name(name)
        target = base if reldir == "." else "%s/%s" % (base, os.path.normpath(reldir))
        try:
            session.uploadWrapper(os.path.join(top, relpath), target, name)
        except koji.GenericError as exc:
            raise UploadError("upload of %s to %s/%s failed: %s" % (relpath, target, name, exc))
        uploaded.append("%s/%s" % (target, name))
    return uploaded


class LogFollower(object):
    """Send a growing log file to the hub while it is written.

    Each :meth:`poll` uploads what was appended since the last one.  If the file
    shrinks or is replaced, it is sent again from the start.  A chunk whose
    adler32 does not match what the hub stored is retried up to five times,
    ten seconds apart (kojid's numbers).  Once the hub has refused an upload because
    the task is no longer ours (:attr:`stopped` says why), nothing more is sent.
    """

    def __init__(self, session, local_path, task_id, name=None, lock=None):
        self.session = session
        self.local_path = local_path
        self.name = check_upload_name(name or os.path.basename(local_path))
        self.task_id = int(task_id)
        self.upload_path = task_upload_path(task_id)
        self.offset = 0
        self.inode = None
        self.lock = lock or threading.Lock()
        self.errors = []
        self.stopped = None

    def pending(self):
        """Whether the file has something the hub does not have yet."""
        try:
            stat = os.stat(self.local_path)
        except OSError:
            return False
        if self.inode is None:
            return stat.st_size > 0
        return stat.st_ino != self.inode or stat.st_size != self.offset

    def stop(self, reason):
        """Send nothing more (the task is no longer ours)."""
        self.stopped = self.stopped or reason

    def poll(self):
        """Upload whatever is new; return the number of bytes sent."""
        if self.stopped:
            return 0
        try:
            stat = os.stat(self.local_path)
        except OSError:
            return 0
        if self.inode is not None and (stat.st_ino != self.inode or stat.st_size < self.offset):
            self.offset = 0
        self.inode = stat.st_ino
        sent = 0
        with open(self.local_path, "rb") as handle:
            handle.seek(self.offset)
            while True:
                chunk = handle.read(CHUNK_SIZE)
                if not chunk:
                    break
                self._send(chunk, self.offset)
                self.offset += len(chunk)
                sent += len(chunk)
        return sent

    def _send(self, chunk, offset):
        expected = adler32_constructor(chunk).hexdigest()
        for attempt in range(UPLOAD_RETRIES + 1):
            with self.lock:
                try:
                    result = self.session.rawUpload(chunk, offset, self.upload_path, self.name,
                                                    overwrite=True)
                except koji.ActionNotAllowed as exc:
                    # "host N does not own task M": the hub refuses every upload for the task
                    # from now on (canceled, reassigned); not worth a retry
                    self.stop(str(exc))
                    raise TaskNotOurs("log %s: %s" % (self.name, exc))
            if result and result.get("hexdigest") == expected:
                return
            if attempt < UPLOAD_RETRIES:
                time.sleep(RETRY_DELAY)
        message = "log %s: chunk at offset %d did not verify" % (self.name, offset)
        self.errors.append(message)
        raise UploadError(message)


class LiveLogUploader(object):
    """Runs :class:`LogFollower` polls on a background thread every ``interval`` s.

    The followers are of one task.  :attr:`stopped` says why uploading stopped early (the
    task is no longer ours), which is not a failure."""

    def __init__(self, followers, interval=1.0):
        self.followers = list(followers)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-log-upload")
        self._thread.daemon = True
        self.failures = []
        self.stopped = None

    def _stop_all(self, reason):
        self.stopped = self.stopped or reason
        for follower in self.followers:
            follower.stop(reason)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self._poll_all()

    def _poll_all(self):
        for follower in self.followers:
            try:
                follower.poll()
            except TaskNotOurs as exc:  # the others would be refused too
                self._stop_all(str(exc))
            except Exception as exc:  # keep the build going; report at the end
                self.failures.append("%s: %s" % (follower.name, exc))

    def stop(self, check_task=False):
        """Stop the thread and send the rest of every log; return the failures.

        With ``check_task`` (the step did not succeed: a cancel kills the container) the
        rest is sent only if the task is still OPEN on this host (asked only when there is
        something left to send)."""
        self._stop.set()
        self._thread.join()
        pending = [f for f in self.followers if not f.stopped and f.pending()]
        if check_task and pending:
            follower = pending[0]
            try:
                ours, state = task_result.task_ownership(follower.session, follower.task_id)
            except koji.GenericError:
                ours = True  # then the send says what is wrong
            if not ours:
                self._stop_all(task_result.not_ours_message(
                    follower.task_id, state, "the rest of its logs was not uploaded"))
        self._poll_all()
        return self.failures
