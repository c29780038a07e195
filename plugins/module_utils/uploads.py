# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Uploading task output to the hub, including logs while they grow.

Files go to the task's upload directory ``tasks/<id % 10000>/<id>`` (koji's
``pathinfo.taskrelpath``) with ``ClientSession.uploadWrapper`` (koji's fast
upload).  Logs are sent incrementally, once a second, from the position reached
so far, with ``rawUpload`` and an adler32 check — what kojid does, so that
``koji watch-logs`` and the web UI show a build log as it is written.
"""

from __future__ import annotations

import os
import threading
import time

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


class LogFollower(object):
    """Send a growing log file to the hub while it is written.

    Each :meth:`poll` uploads what was appended since the last one.  If the file
    shrinks or is replaced, it is sent again from the start.  A chunk whose
    adler32 does not match what the hub stored is retried up to five times,
    ten seconds apart (kojid's numbers).
    """

    def __init__(self, session, local_path, task_id, name=None, lock=None):
        self.session = session
        self.local_path = local_path
        self.name = check_upload_name(name or os.path.basename(local_path))
        self.upload_path = task_upload_path(task_id)
        self.offset = 0
        self.inode = None
        self.lock = lock or threading.Lock()
        self.errors = []

    def poll(self):
        """Upload whatever is new; return the number of bytes sent."""
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
                result = self.session.rawUpload(chunk, offset, self.upload_path, self.name,
                                                overwrite=True)
            if result and result.get("hexdigest") == expected:
                return
            if attempt < UPLOAD_RETRIES:
                time.sleep(RETRY_DELAY)
        message = "log %s: chunk at offset %d did not verify" % (self.name, offset)
        self.errors.append(message)
        raise UploadError(message)


class LiveLogUploader(object):
    """Runs :class:`LogFollower` polls on a background thread every ``interval`` s."""

    def __init__(self, followers, interval=1.0):
        self.followers = list(followers)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-log-upload")
        self._thread.daemon = True
        self.failures = []

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
            except Exception as exc:  # keep the build going; report at the end
                self.failures.append("%s: %s" % (follower.name, exc))

    def stop(self):
        """Stop the thread and send the rest of every log."""
        self._stop.set()
        self._thread.join()
        self._poll_all()
        return self.failures
