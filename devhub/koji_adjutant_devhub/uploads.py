"""Uploads into ``<topdir>/work`` and the task output calls.

Rules from kojihub (``get_upload_path``, ``handle_upload``, ``uploadFile``,
``checkUpload``):

* the file name may not contain ``/`` nor start with ``.``;
* the directory is relative to ``<topdir>/work`` and may not escape it;
* ``tasks/<NNNN>/<task_id>/...`` may only be written by the host that has
  the task OPEN;
* any other directory belongs to the user who first uploaded into it (the
  id is kept in a ``.user`` file there).
"""

import base64
import fcntl
import hashlib
import os
import stat

import koji
import koji.util

from . import context
from . import hosts
from .tasks import Task


def check_file_name(name):
    if not isinstance(name, str) or not name:
        raise koji.GenericError('Invalid upload filename: %r' % (name,))
    head, tail = os.path.split(name)
    if head or tail.startswith('.') or tail in ('', '..'):
        raise koji.GenericError('Invalid upload filename: %s' % name)


def _normalize_reldir(reldir):
    if not isinstance(reldir, str):
        raise koji.GenericError('Invalid upload directory: %r' % (reldir,))
    norm = os.path.normpath(reldir)
    if not reldir or os.path.isabs(reldir) or norm == '.' or norm == '..' \
            or norm.startswith('../') or '/../' in '/%s/' % reldir:
        raise koji.GenericError('Invalid upload directory: %s' % reldir)
    return norm


def safe_work_dir(hub, reldir):
    """Absolute path of a directory under <topdir>/work (no escapes allowed)."""
    norm = _normalize_reldir(reldir)
    path = os.path.join(hub.workdir, norm)
    real_work = os.path.realpath(hub.workdir)
    real = os.path.realpath(path)
    if real != real_work and not real.startswith(real_work + os.sep):
        raise koji.GenericError('Invalid upload directory: %s' % reldir)
    return path


def _check_volume(volume):
    if volume not in (None, 'DEFAULT'):
        raise koji.GenericError('No such volume: %s (the dev hub only has DEFAULT)' % volume)


def get_upload_path(hub, reldir, name, create=False, volume=None):
    """Check an upload target and return its absolute path.

    With ``create`` the directory is made and ownership is enforced.
    """
    check_file_name(name)
    _check_volume(volume)
    norm = _normalize_reldir(reldir)
    parts = norm.split('/')
    check_user = True
    if create and parts[0] == 'tasks':
        if len(parts) < 3:
            raise koji.GenericError('Invalid task upload directory: %s' % reldir)
        try:
            task_id = int(parts[2])
        except ValueError:
            raise koji.GenericError('Invalid task upload directory: %s' % reldir)
        # only the host running the task may write here
        host = hosts.Host(hub)
        host.verify()
        Task(hub, task_id).assert_host(host.id)
        check_user = False
    udir = safe_work_dir(hub, norm)
    if create:
        os.makedirs(udir, exist_ok=True)
        if check_user:
            sess = context.session()
            owner_file = os.path.join(udir, '.user')
            if os.path.exists(owner_file):
                with open(owner_file, 'rt') as fo:
                    owner = int(fo.read().strip() or 0)
                if sess.user_id != owner:
                    raise koji.GenericError('Invalid upload directory, not owner: %s' % reldir)
            else:
                with open(owner_file, 'wt') as fo:
                    fo.write(str(sess.user_id))
    return os.path.join(udir, name)


def verify_class(verify):
    if verify == 'md5':
        return hashlib.md5
    if verify == 'adler32':
        return koji.util.adler32_constructor
    if verify == 'sha256':
        return hashlib.sha256
    if verify:
        raise koji.GenericError('Unsupported verify type: %s' % verify)
    return None


class RawUpload(object):
    """A checked fast-upload request (``rawUpload``), ready to take its body."""

    def __init__(self, hub, args):
        sess = context.session()
        if sess is None or not sess.logged_in:
            raise koji.ActionNotAllowed('you must be logged-in to upload a file')
        try:
            self.name = args['filename'][0]
        except (KeyError, IndexError):
            raise koji.GenericError('filename not specified for upload')
        self.path = args.get('filepath', [''])[0]
        self.verify = args.get('fileverify', [''])[0]
        self.overwrite = args.get('overwrite', [''])[0]
        try:
            self.offset = int(args.get('offset', ['0'])[0])
        except ValueError:
            raise koji.GenericError('Invalid upload offset: %r' % args.get('offset'))
        volume = args.get('volume', ['DEFAULT'])[0]
        self.checksum_class = verify_class(self.verify)
        self.fn = get_upload_path(hub, self.path, self.name, create=True, volume=volume)
        if os.path.lexists(self.fn):
            if not os.path.isfile(self.fn) or os.path.islink(self.fn):
                raise koji.GenericError('destination not a file: %s' % self.fn)
            if self.offset == 0 and not self.overwrite:
                raise koji.GenericError('upload path exists: %s' % self.fn)

    def write(self, body_reader, length):
        """Write the chunk at its offset; returns kojihub's upload result map.

        Writing at an offset truncates what followed (a log re-sent from an
        earlier position replaces its tail).  A chunk may not start beyond the
        current end of the file.
        """
        checksum = self.checksum_class() if self.checksum_class else None
        size = 0
        fd = os.open(self.fn, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                raise koji.LockError(str(e))
            offset = self.offset
            current = os.fstat(fd).st_size
            if offset == -1:
                offset = current
            elif offset < 0:
                raise koji.GenericError('Invalid upload offset: %s' % offset)
            elif offset > current:
                raise koji.GenericError('upload offset %d is beyond the end of %s (size %d)'
                                        % (offset, self.fn, current))
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, 0)
            remaining = length
            while remaining > 0:
                chunk = body_reader(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
                size += len(chunk)
                if checksum is not None:
                    checksum.update(chunk)
                os.write(fd, chunk)
        finally:
            os.close(fd)
        result = {'size': size, 'fileverify': self.verify, 'offset': offset}
        if checksum is not None:
            result['hexdigest'] = checksum.hexdigest()
        return result


def check_upload(hub, path, name, verify=None, tail=None, volume=None):
    """checkUpload: {size, mtime[, sumlength, hexdigest]} or None if missing."""
    fn = get_upload_path(hub, path, name, volume=volume)
    try:
        fd = os.open(fn, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise koji.GenericError('Not a regular file: %s' % fn)
        data = {'size': st.st_size, 'mtime': st.st_mtime}
        if verify:
            checksum = verify_class(verify)()
            if tail is not None:
                if tail < 0:
                    raise koji.GenericError('Invalid tail value: %r' % tail)
                os.lseek(fd, max(st.st_size - tail, 0), 0)
            length = 0
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                length += len(chunk)
                checksum.update(chunk)
            data['sumlength'] = length
            data['hexdigest'] = checksum.hexdigest()
        return data
    finally:
        os.close(fd)


def upload_file(hub, path, name, size, md5sum, offset, data, volume=None, checksum=None):
    """Legacy base64 upload (uploadFile); False tells the client to resend."""
    context.session().assertLogin()
    contents = base64.b64decode(data)
    offset = koji.decode_int(offset)
    size = koji.decode_int(size)
    if checksum is None and md5sum is not None:
        checksum = md5sum
    if isinstance(checksum, str):
        verify, digest = 'md5', checksum
    elif checksum is None:
        verify, digest = None, None
    else:
        verify, digest = checksum
    sum_cls = verify_class(verify)
    if offset != -1:
        if size is not None and size != len(contents):
            return False
        if verify is not None and digest != sum_cls(contents).hexdigest():
            return False
    fn = get_upload_path(hub, path, name, create=True, volume=volume)
    try:
        st = os.lstat(fn)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            raise koji.GenericError('destination not a file: %s' % fn)
        if offset == 0 and not fn.endswith('.log'):
            raise koji.GenericError('file already exists: %s' % fn)
    fd = os.open(fn, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        if offset == 0 or (offset == -1 and size == len(contents)):
            os.ftruncate(fd, 0)
        if offset == -1:
            os.lseek(fd, 0, 2)
        else:
            current = os.fstat(fd).st_size
            if offset > current:
                raise koji.GenericError('upload offset %d is beyond the end of %s (size %d)'
                                        % (offset, fn, current))
            os.lseek(fd, offset, 0)
        os.write(fd, contents)
        if offset == -1:
            if size is not None:
                os.ftruncate(fd, size)
            if verify is not None:
                whole = sum_cls()
                os.lseek(fd, 0, 0)
                while True:
                    block = os.read(fd, 819200)
                    if not block:
                        break
                    whole.update(block)
                if digest != whole.hexdigest():
                    return False
    finally:
        os.close(fd)
    return True


# -- task output ---------------------------------------------------------------------

def list_task_output(hub, taskID, stat=False, all_volumes=False, strict=False):
    if strict:
        Task(hub, taskID).get_info(strict=True)
    taskdir = hub.task_workdir(int(taskID))
    result = {} if (stat or all_volumes) else []
    if not os.path.isdir(taskdir):
        return result
    for dirpath, _dirs, files in os.walk(taskdir):
        for filename in sorted(files):
            relpath = os.path.relpath(os.path.join(dirpath, filename), taskdir)
            if stat:
                st = os.stat(os.path.join(dirpath, filename))
                info = {'st_size': str(st.st_size), 'st_atime': st.st_atime,
                        'st_mtime': st.st_mtime, 'st_ctime': st.st_ctime}
                if all_volumes:
                    result[relpath] = {'DEFAULT': info}
                else:
                    result[relpath] = info
            elif all_volumes:
                result[relpath] = ['DEFAULT']
            else:
                result.append(relpath)
    return result


def download_task_output(hub, taskID, fileName, offset=0, size=-1, volume=None):
    _check_volume(volume)
    size = int(size)
    if not isinstance(fileName, str) or '..' in fileName or fileName.startswith('/'):
        raise koji.GenericError('Invalid file name: %s' % fileName)
    taskdir = hub.task_workdir(int(taskID))
    path = os.path.normpath(os.path.join(taskdir, fileName))
    if not path.startswith(taskdir + os.sep) or not os.path.isfile(path):
        raise koji.GenericError('no file "%s" output by task %i' % (fileName, int(taskID)))
    with open(path, 'rb') as fo:
        offset = int(offset) if offset is not None else 0
        if offset > 0:
            fo.seek(offset, 0)
        elif offset < 0:
            fo.seek(offset, 2)
        contents = fo.read(size)
    return koji.util.base64encode(contents)
