"""Uploads (fast and legacy), their rules, task output and file serving."""

import base64
import hashlib
import os
import urllib.error
import urllib.request

import koji
import pytest

from devhub_helpers import response


def _taskdir(task_id):
    return koji.pathinfo.taskrelpath(task_id)


def _fetch(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read()


def test_upload_wrapper_into_task_dir(devhub, make_builder, tmp_path):
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    data = os.urandom(300000) + b'end'
    local = tmp_path / 'build.log'
    local.write_bytes(data)
    builder.session.opts['use_fast_upload'] = True
    builder.session.uploadWrapper(str(local), _taskdir(task_id), blocksize=65536)
    # also through the client's default path (checkUpload first, then fast upload)
    builder.session.opts['use_fast_upload'] = False
    small = tmp_path / 'result.json'
    small.write_text('{"ok": true}')
    builder.session.uploadWrapper(str(small), _taskdir(task_id))
    session = devhub.admin_session()
    assert sorted(session.listTaskOutput(task_id)) == ['build.log', 'result.json']
    stats = session.listTaskOutput(task_id, stat=True)
    assert stats['build.log']['st_size'] == str(len(data))
    assert session.listTaskOutput(task_id, all_volumes=True)['result.json'] == ['DEFAULT']
    assert session.downloadTaskOutput(task_id, 'build.log') == data
    assert session.downloadTaskOutput(task_id, 'build.log', offset=-3) == b'end'
    url = '%s/work/%s/build.log' % (devhub.topurl, _taskdir(task_id))
    assert _fetch(url) == data
    check = builder.session.checkUpload(_taskdir(task_id), 'build.log', verify='adler32')
    assert check['size'] == len(data)
    assert check['hexdigest'] == koji.util.adler32_constructor(data).hexdigest()
    builder.session.host.closeTask(task_id, response(None))
    assert session.checkUpload(_taskdir(task_id), 'missing.log') is None


def test_raw_upload_offsets(devhub, make_builder):
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    path = _taskdir(task_id)
    raw = builder.session.rawUpload
    first = raw(b'hello ', 0, path, 'live.log', overwrite=True)
    assert first['size'] == 6
    assert first['hexdigest'] == koji.util.adler32_constructor(b'hello ').hexdigest()
    raw(b'world', 6, path, 'live.log', overwrite=True)
    # re-sending from an earlier position replaces the tail (live log uploads)
    raw(b'WORLD!', 6, path, 'live.log', overwrite=True)
    assert devhub.admin_session().downloadTaskOutput(task_id, 'live.log') == b'hello WORLD!'
    with pytest.raises(koji.GenericError, match='beyond the end'):
        raw(b'gap', 100, path, 'live.log', overwrite=True)
    with pytest.raises(koji.GenericError, match='upload path exists'):
        raw(b'again', 0, path, 'live.log')
    raw(b'new', 0, path, 'live.log', overwrite=True)
    assert devhub.admin_session().downloadTaskOutput(task_id, 'live.log') == b'new'


@pytest.mark.parametrize('path,name,message', [
    ('tasks/1/1', '../x', 'Invalid upload filename'),
    ('tasks/1/1', 'sub/x', 'Invalid upload filename'),
    ('tasks/1/1', '.hidden', 'Invalid upload filename'),
    ('cli-build/../../etc', 'passwd', 'Invalid upload directory'),
    ('../outside', 'x', 'Invalid upload directory'),
    ('/etc', 'passwd', 'Invalid upload directory'),
    ('', 'x', 'Invalid upload directory'),
])
def test_upload_names_and_paths_rejected(devhub, path, name, message):
    session = devhub.admin_session()
    with pytest.raises(koji.GenericError, match=message):
        session.rawUpload(b'data', 0, path, name, overwrite=True)
    with pytest.raises(koji.GenericError, match=message):
        session.uploadFile(path, name, 4, ('sha256', hashlib.sha256(b'data').hexdigest()), 0,
                           base64.b64encode(b'data').decode())
    with pytest.raises(koji.GenericError, match=message):
        session.checkUpload(path, name)


def test_upload_into_other_hosts_task_rejected(devhub, make_builder):
    owner, intruder = make_builder(), make_builder(ready=False)
    task_id = devhub.make_task('sleep', [1])
    owner.take(task_id)
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        intruder.session.rawUpload(b'evil', 0, _taskdir(task_id), 'x.log', overwrite=True)
    # a normal user may not write into task directories at all
    with pytest.raises(koji.AuthError, match='is not a host'):
        devhub.admin_session().rawUpload(b'x', 0, _taskdir(task_id), 'x.log', overwrite=True)
    # nor into the directory of a task that is not open
    done = devhub.make_task('sleep', [2])
    owner.ready()
    owner.take(done)
    owner.session.host.closeTask(done, response(None))
    with pytest.raises(koji.ActionNotAllowed):
        owner.session.rawUpload(b'late', 0, _taskdir(done), 'late.log', overwrite=True)


def test_a_canceled_task_refuses_every_host_call_of_its_host(devhub, make_builder):
    """As a real hub once a task is canceled: uploads into its directory (fast and legacy),
    failBuild, closeTask and failTask of the host that ran it are all refused alike."""
    builder = make_builder()
    task_id = devhub.make_task('sleep', [1])
    builder.take(task_id)
    builder.session.rawUpload(b'started\n', 0, _taskdir(task_id), 'build.log', overwrite=True)
    devhub.admin_session().cancelTask(task_id)
    refusal = 'host %d does not own task %d' % (builder.id, task_id)
    with pytest.raises(koji.ActionNotAllowed, match=refusal):
        builder.session.rawUpload(b'more\n', 8, _taskdir(task_id), 'build.log', overwrite=True)
    with pytest.raises(koji.ActionNotAllowed, match=refusal):
        builder.session.uploadFile(_taskdir(task_id), 'root.log', 4,
                                   ('sha256', hashlib.sha256(b'data').hexdigest()), 0,
                                   base64.b64encode(b'data').decode())
    with pytest.raises(koji.ActionNotAllowed, match=refusal):
        builder.session.host.failBuild(task_id, 1)
    with pytest.raises(koji.ActionNotAllowed, match=refusal):
        builder.session.host.closeTask(task_id, response(None))
    with pytest.raises(koji.ActionNotAllowed, match=refusal):
        builder.session.host.failTask(task_id, response(None))
    assert devhub.admin_session().downloadTaskOutput(task_id, 'build.log') == b'started\n'


def test_user_upload_dirs_belong_to_their_uploader(devhub, tmp_path):
    devhub.add_user('uploader', 'pw')
    devhub.add_user('other', 'pw')
    srpm = tmp_path / 'foo-1-1.src.rpm'
    srpm.write_bytes(b'not really an rpm')
    first = devhub.session('uploader', 'pw')
    first.uploadWrapper(str(srpm), 'cli-build/1234.abcd')
    owner_file = os.path.join(devhub.topdir, 'work', 'cli-build', '1234.abcd', '.user')
    assert open(owner_file).read().strip() == str(first.getLoggedInUser()['id'])
    with pytest.raises(koji.GenericError, match='not owner'):
        devhub.session('other', 'pw').uploadWrapper(str(srpm), 'cli-build/1234.abcd',
                                                    name='other.src.rpm')


def test_legacy_upload_file(devhub):
    session = devhub.admin_session()
    data = b'legacy upload contents'
    path, name = 'legacy/dir', 'file.txt'
    chunk_sum = ('sha256', hashlib.sha256(data).hexdigest())
    assert session.uploadFile(path, name, len(data), chunk_sum, 0,
                              base64.b64encode(data).decode()) is True
    # final call: offset -1, size and checksum of the whole file
    assert session.uploadFile(path, name, len(data), chunk_sum, -1, '') is True
    # a chunk whose checksum does not match is refused (the client resends)
    assert session.uploadFile(path, 'bad.txt', 4, ('sha256', 'bogus'), 0,
                              base64.b64encode(b'data').decode()) is False
    with open(os.path.join(devhub.topdir, 'work', path, name), 'rb') as fo:
        assert fo.read() == data


def test_file_serving_stays_in_topdir(devhub):
    base = devhub.topurl
    listing = _fetch(base + '/').decode()
    assert 'work/' in listing and 'repos/' in listing
    # the database (it holds the passwords) and dot files are not served
    assert 'devhub.sqlite' not in listing
    for bad in ('/devhub.sqlite', '/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd',
                '/work/../../x', '/.devhub-port'):
        with pytest.raises(urllib.error.HTTPError) as exc:
            _fetch(base + bad)
        assert exc.value.code in (403, 404)
    with pytest.raises(urllib.error.HTTPError) as exc:
        _fetch(devhub.url)
    assert exc.value.code == 405
