"""Signatures and signed copies (addRPMSig, writeSignedRPM, koji import-sig), dist repos
(distRepo / koji dist-repo, host.distRepoMove, repoDone of a dist repo).

The rpms are built with rpmbuild and signed with rpmsign and a throw-away gpg key; the
builder's part of a dist repo (kojid's NewDistRepoTask and createDistRepoTask) is
played here with the same hub calls, createrepo_c and uploads.
"""

import base64
import json
import os
import shutil
import subprocess
import urllib.request
import xmlrpc.client

import koji
import pytest

from devhub_helpers import build_rpms, response, run_koji, unique
from koji_adjutant_devhub.testing import make_signing_key, sign_rpm

RS = koji.REPO_STATES


@pytest.fixture(scope='module')
def signing_key(tmp_path_factory):
    if shutil.which('rpmsign') is None or shutil.which('gpg') is None:
        pytest.skip('rpmsign or gpg not installed')
    return make_signing_key(str(tmp_path_factory.mktemp('gpg')))


@pytest.fixture(scope='module')
def signed_tag(devhub, signing_key, tmp_path_factory):
    """A tag (x86_64) with two builds: dr-signed (its rpms signed with the key, signed
    copies written) and dr-plain (unsigned only)."""
    workdir = str(tmp_path_factory.mktemp('distrpms'))
    signed = build_rpms(workdir, unique('dr-signed'))
    plain = build_rpms(workdir, unique('dr-plain'))
    tag = unique('dist-tag')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    devhub.import_rpms(list(signed.values()) + list(plain.values()), tag=tag)
    copies = os.path.join(workdir, 'signed')
    os.makedirs(copies)
    signed_copies = [sign_rpm(path, signing_key, copies) for path in signed.values()]
    assert devhub.import_signatures(signed_copies) == [signing_key['keyid']] * 3
    return {'tag': tag, 'signed': signed, 'plain': plain, 'signed_copies': signed_copies,
            'key': signing_key['keyid']}


def _rpm(session, path):
    fields = koji.get_header_fields(path, ('name', 'version', 'release', 'arch',
                                           'sourcepackage'))
    if fields['sourcepackage']:
        fields['arch'] = 'src'
    return session.getRPM(dict((k, fields[k]) for k in ('name', 'version', 'release', 'arch')),
                          strict=True)


def _build_dir(devhub, session, rinfo):
    binfo = session.getBuild(rinfo['build_id'], strict=True)
    return koji.PathInfo(topdir=devhub.topdir).build(binfo)


# -- signatures --------------------------------------------------------------------------

def test_import_records_signatures_and_sigcache(devhub, signing_key, tmp_path):
    session = devhub.admin_session()
    rpms = build_rpms(str(tmp_path), unique('sigimport'))
    # an rpm signed before its import carries its key from the start
    signed_noarch = sign_rpm(rpms['noarch'], signing_key, str(tmp_path))
    devhub.import_rpms([rpms['src'], rpms['x86_64'], signed_noarch])
    key = signing_key['keyid']
    unsigned = _rpm(session, rpms['x86_64'])
    sigs = session.queryRPMSigs(rpm_id=unsigned['id'])
    assert [s['sigkey'] for s in sigs] == ['']
    assert sigs[0]['sighash'] == koji.util.md5_constructor(
        koji.rip_rpm_sighdr(rpms['x86_64'])).hexdigest()
    builddir = _build_dir(devhub, session, unsigned)
    assert os.path.isfile(os.path.join(builddir, koji.pathinfo.sighdr(unsigned, '')))
    noarch = _rpm(session, signed_noarch)
    assert [s['sigkey'] for s in session.queryRPMSigs(rpm_id=noarch['id'])] == [key]
    assert session.queryRPMSigs(rpm_id='%(name)s-%(version)s-%(release)s.%(arch)s' % noarch,
                                sigkey=key.upper())[0]['rpm_id'] == noarch['id']
    # as kojihub: an rpm that does not exist has no signatures
    assert session.queryRPMSigs(rpm_id='nosuch-1-1.x86_64') == []
    # the signature is there, its signed copy only once it is written
    signed_copy = os.path.join(builddir, koji.pathinfo.signed(noarch, key))
    assert not os.path.exists(signed_copy)
    session.writeSignedRPM(noarch['id'], key)
    assert koji.get_sighdr_key(koji.rip_rpm_sighdr(signed_copy)) == key


def test_koji_import_sig_writes_signed_copy(devhub, signing_key, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    rpms = build_rpms(str(tmp_path), unique('importsig'))
    devhub.import_rpms(list(rpms.values()))
    signed = sign_rpm(rpms['x86_64'], signing_key, str(tmp_path / 'copy.rpm'))
    key = signing_key['keyid']
    out = run_koji(devhub, config, 'import-sig', signed)
    assert 'Importing signature [key %s]' % key in out
    rinfo = _rpm(session, rpms['x86_64'])
    assert sorted(s['sigkey'] for s in session.queryRPMSigs(rpm_id=rinfo['id'])) == ['', key]
    path = os.path.join(_build_dir(devhub, session, rinfo), koji.pathinfo.signed(rinfo, key))
    assert koji.get_sighdr_key(koji.rip_rpm_sighdr(path)) == key
    with open(signed, 'rb') as fo:
        with open(path, 'rb') as fo2:
            assert fo.read() == fo2.read()
    # served under topurl, where kojid's dist repo tasks read them
    build = session.getBuild(rinfo['build_id'])
    url = '%s/packages/%s/%s/%s/data/signed/%s/x86_64/%s' % (
        devhub.topurl, build['name'], build['version'], build['release'], key,
        os.path.basename(path))
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read()[:4] == b'\xed\xab\xee\xdb'
    out = run_koji(devhub, config, 'import-sig', signed)
    assert 'Signature already imported' in out
    # listTaggedRPMS/getLatestRPMS with rpmsigs: one entry per rpm and key
    tag = unique('sigtag')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    devhub.import_rpms(list(rpms.values()), tag=tag)
    listed, _builds = session.listTaggedRPMS(tag, arch='x86_64', rpmsigs=True)
    assert sorted(r['sigkey'] for r in listed) == ['', key]
    out = run_koji(devhub, config, 'list-tagged', '--rpms', '--sigs', '--arch', 'x86_64', tag)
    nvra = '%s-%s-%s.x86_64' % (build['name'], build['version'], build['release'])
    assert out.splitlines() == [' ' + nvra, '%s %s' % (key, nvra)]
    # koji write-signed-rpm writes the copy again from the stored header
    os.unlink(path)
    out = run_koji(devhub, config, 'write-signed-rpm', key.upper(), nvra)
    assert '[1/1] %s' % nvra in out
    assert koji.get_sighdr_key(koji.rip_rpm_sighdr(path)) == key


def test_signature_refusals(devhub, signing_key, tmp_path):
    session = devhub.admin_session()
    rpms = build_rpms(str(tmp_path), unique('sigrefuse'))
    other = build_rpms(str(tmp_path), unique('sigother'))
    devhub.import_rpms(list(rpms.values()))
    rinfo = _rpm(session, rpms['x86_64'])
    key = signing_key['keyid']
    signed = sign_rpm(rpms['x86_64'], signing_key, str(tmp_path / 'signed.rpm'))
    sighdr = base64.b64encode(koji.rip_rpm_sighdr(signed)).decode()
    devhub.add_user('nosign', 'pw')
    plain = devhub.session('nosign', 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='sign permission required'):
        plain.addRPMSig(rinfo['id'], sighdr)
    with pytest.raises(koji.ActionNotAllowed, match='sign permission required'):
        plain.writeSignedRPM(rinfo['id'], key)
    with pytest.raises(koji.GenericError, match='No cached signature for package %s-1.0-1.'
                       'x86_64, key %s' % (rinfo['name'], key)):
        session.writeSignedRPM(rinfo['id'], key)
    # a header of another rpm does not match this one's digests
    wrong = base64.b64encode(koji.rip_rpm_sighdr(other['x86_64'])).decode()
    with pytest.raises(koji.GenericError, match='Wrong (MD5|SHA1|SHA256) in signature for %s'
                       % rinfo['name']):
        session.addRPMSig(rinfo['id'], wrong)
    with pytest.raises(koji.GenericError, match='Must be lowercase'):
        session.addRPMSig(rinfo['id'], sighdr, sigkey=key.upper())
    with pytest.raises(koji.GenericError, match='Invalid sigkey value'):
        session.addRPMSig(rinfo['id'], sighdr, sigkey='a/b')
    with pytest.raises(koji.GenericError, match='No such rpm'):
        session.addRPMSig('nosuch-1-1.x86_64', sighdr)
    devhub.add_user('signer', 'pw', perms=('sign',))
    signer = devhub.session('signer', 'pw')
    signer.addRPMSig(rinfo['id'], sighdr)
    with pytest.raises(koji.GenericError, match='Signature already exists for package %s-1.0-1.'
                       'x86_64, key %s' % (rinfo['name'], key)):
        signer.addRPMSig(rinfo['id'], sighdr)
    signer.writeSignedRPM(rinfo['id'], key.upper())   # lowercased, as kojihub
    path = os.path.join(_build_dir(devhub, session, rinfo), koji.pathinfo.signed(rinfo, key))
    mtime = os.stat(path).st_mtime_ns
    signer.writeSignedRPM(rinfo['id'], key)           # already there: kept
    assert os.stat(path).st_mtime_ns == mtime
    signer.writeSignedRPM(rinfo['id'], key, force=True)
    assert os.path.isfile(path)


def test_host_write_signed_rpm(devhub, make_builder, signing_key, tmp_path):
    """kojid's createdistrepo (write_signed_rpms) calls host.writeSignedRPM in a multicall;
    as kojihub, it is not restricted to any permission."""
    session = devhub.admin_session()
    rpms = build_rpms(str(tmp_path), unique('hostsign'))
    devhub.import_rpms(list(rpms.values()))
    signed = sign_rpm(rpms['noarch'], signing_key, str(tmp_path / 'signed.rpm'))
    devhub.import_signatures([signed], write=False)
    rinfo = _rpm(session, rpms['noarch'])
    builder = make_builder(ready=False)
    with builder.session.multicall(batch=1000) as m:
        ok = m.host.writeSignedRPM(rinfo['id'], signing_key['keyid'])
        bad = m.host.writeSignedRPM(rinfo['id'], 'deadbeef')
    assert ok.result is None
    with pytest.raises(koji.GenericError, match='No cached signature'):
        bad.result
    path = os.path.join(_build_dir(devhub, session, rinfo),
                        koji.pathinfo.signed(rinfo, signing_key['keyid']))
    assert os.path.isfile(path)


# -- koji dist-repo and distRepo -----------------------------------------------------------

def _cli_opts(**overrides):
    """The options dict koji dist-repo (1.36) sends, with its defaults."""
    opts = {'arch': ['x86_64'], 'comps': None, 'delta': [], 'event': None, 'volume': None,
            'inherit': True, 'multilib': None, 'split_debuginfo': False,
            'skip_missing_signatures': False, 'allow_missing_signatures': False,
            'zck': False, 'zck_dict_dir': None, 'write_signed_rpms': False, 'latest': True}
    opts.update(overrides)
    return opts


def test_koji_dist_repo_creates_repo_and_task(devhub, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    tag = unique('drtag')
    devhub.make_tag_with_repo(tag, ['x86_64', 'i686'])
    comps = tmp_path / 'comps.xml'
    comps.write_text('<?xml version="1.0"?>\n<comps></comps>\n')
    mlconf = tmp_path / 'multilib.conf'
    mlconf.write_text('[multilib]\n')
    last = session.getLastEvent()['id']
    run_koji(devhub, config, 'dist-repo', '--nowait', tag, 'ABCD1234', 'feedbeef',
             '--with-src', '--split-debuginfo', '--comps', str(comps), '--multilib',
             str(mlconf), '--arch', 'x86_64', '--arch', 'i686', '--latest-n', '2',
             '--noinherit', '--skip-stat', '--write-signed-rpms', '--zck')
    task = session.listTasks(opts={'method': 'distRepo', 'decode': True},
                             queryOpts={'order': '-id', 'limit': 1})[0]
    assert task['owner_name'] == 'kojiadmin' and task['priority'] == 15
    assert session.getChannel(task['channel_id'])['name'] == 'createrepo'
    assert task['arch'] == 'noarch' and task['parent'] is None
    req_tag, repo_id, keys, opts = task['request']
    assert req_tag == tag and keys == ['ABCD1234', 'feedbeef']
    repo = session.repoInfo(repo_id)
    assert repo['dist'] is True and repo['state'] == RS['INIT'] and repo['tag_name'] == tag
    assert repo['task_id'] is None and repo['opts'] is None
    assert repo['create_event'] > last and opts['event'] == repo['create_event']
    assert opts['comps'].startswith('cli-dist-repo/') and opts['comps'].endswith('/comps.xml')
    assert opts['multilib'].endswith('/multilib.conf')
    expected = _cli_opts(arch=['x86_64', 'i686', 'src'], comps=opts['comps'],
                         event=repo['create_event'], inherit=False, multilib=opts['multilib'],
                         split_debuginfo=True, zck=True, write_signed_rpms=True, latest=2,
                         createrepo_skip_stat=True)
    assert opts == expected
    repodir = os.path.join(devhub.topdir, 'repos-dist', tag, str(repo_id))
    # one directory per canonical arch (i686 is i386)
    assert sorted(os.listdir(repodir)) == ['groups', 'i386', 'repo.json', 'src', 'x86_64']
    with open(os.path.join(repodir, 'groups', 'comps.xml')) as fo:
        assert '<comps>' in fo.read()
    with open(os.path.join(repodir, 'repo.json')) as fo:
        info = json.load(fo)
    assert info['id'] == repo_id and info['tag'] == tag and info['keys'] == keys
    # repo.json has the options as the call gave them (the event is added to the task's)
    assert info['task_opts'] == dict(expected, event=None) and info['volume'] is None
    # a dist repo is not a buildroot repo
    assert session.getRepo(tag)['id'] != repo_id
    assert session.getRepo(tag, dist=True) is None
    assert session.getRepo(tag, state=RS['INIT'], dist=True)['id'] == repo_id
    # --delta-rpms takes a dist repo by tag (READY, else EXPIRED) or by id
    out = run_koji(devhub, config, 'dist-repo', '--nowait', tag, 'abcd1234',
                   '--delta-rpms', str(repo_id), check=False)[1]
    assert 'Creating dist repo for tag %s' % tag in out
    task = session.listTasks(opts={'method': 'distRepo', 'decode': True},
                             queryOpts={'order': '-id', 'limit': 1})[0]
    assert task['request'][3]['delta'] == [repo_id]
    assert task['request'][3]['arch'] == ['x86_64', 'i686']   # the tag's arches
    rc, out = run_koji(devhub, config, 'dist-repo', '--nowait', tag, 'abcd1234',
                       '--delta-rpms', tag, check=False)
    assert rc != 0 and "Can't find repo for tag: %s" % tag in out


def test_dist_repo_refusals(devhub, tmp_path):
    config = str(tmp_path / 'koji.conf')
    devhub.write_koji_config(config)
    session = devhub.admin_session()
    tag = unique('drrefuse')
    devhub.make_tag_with_repo(tag, ['x86_64'])
    # the CLI's own checks
    rc, out = run_koji(devhub, config, 'dist-repo', '--nowait', tag, check=False)
    assert rc != 0 and 'Please specify one or more GPG key IDs' in out
    rc, out = run_koji(devhub, config, 'dist-repo', '--nowait', unique('nosuchtag'), 'abcd',
                       check=False)
    assert rc != 0 and 'No such tag' in out
    mlconf = tmp_path / 'ml.conf'
    mlconf.write_text('[multilib]\n')
    rc, out = run_koji(devhub, config, 'dist-repo', '--nowait', tag, 'abcd', '--multilib',
                       str(mlconf), check=False)
    assert rc != 0 and 'The multilib arch (i686) must be included' in out
    # the hub's
    with pytest.raises(koji.GenericError, match='No such tagInfo'):
        session.distRepo(unique('nosuch'), ['abcd'], arch=['x86_64'])
    with pytest.raises(koji.ParameterError, match="expected type <class 'list'>"):
        session.distRepo(tag, 'abcd', arch=['x86_64'])
    # as kojihub: no arch option is a KeyError (a plain fault, code 1)
    with pytest.raises(xmlrpc.client.Fault, match="KeyError'>: 'arch'"):
        session.distRepo(tag, ['abcd'])
    with pytest.raises(koji.GenericError, match='No such volume'):
        session.distRepo(tag, ['abcd'], arch=['x86_64'], volume='elsewhere')
    with pytest.raises(koji.GenericError, match='Invalid upload directory'):
        session.distRepo(tag, ['abcd'], arch=['x86_64'], comps='../../devhub.sqlite')
    with pytest.raises(koji.ParameterError, match='Invalid type'):
        session.distRepo(tag, ['abcd'], arch=['x86_64'], event='yesterday')
    with pytest.raises(koji.GenericError, match='task must have an owner'):
        devhub.session().distRepo(tag, ['abcd'], arch=['x86_64'])
    # nothing of the refused calls is left (each call is one transaction)
    assert session.getRepo(tag, state=RS['INIT'], dist=True) is None
    # a stock hub has no dist_repo policy, so a user without dist-repo may (MissingPolicyOk)
    devhub.add_user('distuser', 'pw')
    task_id = devhub.session('distuser', 'pw').distRepo(tag, [], arch=['x86_64'],
                                                        allow_missing_signatures=True)
    assert session.getTaskInfo(task_id)['owner'] == session.getUser('distuser')['id']


def test_dist_repo_cancel_others(devhub):
    session = devhub.admin_session()
    tag, other = unique('drcancel'), unique('drkeep')
    devhub.make_tag_with_repo(tag, ['x86_64'], extra={'distrepo.cancel_others': True})
    devhub.make_tag_with_repo(other, ['x86_64'])
    keep = session.distRepo(other, ['abcd'], arch=['x86_64'])
    first = session.distRepo(tag, ['abcd'], arch=['x86_64'])
    second = session.distRepo(tag, ['abcd'], arch=['x86_64'])
    states = dict((t, koji.TASK_STATES[session.getTaskInfo(t)['state']])
                  for t in (keep, first, second))
    assert states == {keep: 'FREE', first: 'CANCELED', second: 'FREE'}


# -- the builder's side: createdistrepo uploads, distRepoMove, repoDone ------------------

def _fake_createdistrepo(devhub, session, task_id, tag, repo_id, arch, keys, opts, workdir):
    """What kojid's createDistRepoTask does for a plain arch (no multilib, no deltas): pick
    each rpm's signed copy by key order (else, if allowed, the primary rpm), write
    kojipkgs and pkglist, run createrepo_c, upload the repo and its repo_manifest."""
    rinfo = session.repoInfo(repo_id, strict=True)
    assert rinfo['state'] == RS['INIT'] and rinfo['dist']
    keys = [k.lower() for k in keys]
    rpms, builds = [], {}
    for a in (arch, 'noarch'):
        found, blist = session.listTaggedRPMS(tag, event=opts['event'], arch=a,
                                              latest=opts['latest'], inherit=opts['inherit'],
                                              rpmsigs=True)
        rpms += found
        builds.update((b['id'], b) for b in blist)
    by_id = {}
    for rpm in rpms:
        by_id.setdefault(rpm['id'], {})[rpm['sigkey']] = rpm
    repodir = os.path.join(str(workdir), 'repo')
    kojipkgs = {}
    pathinfo = koji.PathInfo(topdir=devhub.topdir)
    for sigs in by_id.values():
        key = next((k for k in keys if k in sigs), None)
        if key is None:
            if not opts['allow_missing_signatures']:
                raise koji.GenericError('Unsigned packages found')
            info = dict(list(sigs.values())[0], sigkey=None)
            rel = pathinfo.rpm(info)
        else:
            info = dict(sigs[key])
            rel = pathinfo.signed(info, key)
        path = os.path.join(pathinfo.build(builds[info['build_id']]), rel)
        bnp = os.path.basename(path)
        info['_pkgpath'] = path
        kojipkgs[bnp] = info
        os.makedirs(os.path.join(repodir, 'Packages', bnp[0].lower()), exist_ok=True)
        os.symlink(path, os.path.join(repodir, 'Packages', bnp[0].lower(), bnp))
    with open(os.path.join(repodir, 'pkglist'), 'w') as fo:
        for bnp in kojipkgs:
            fo.write('Packages/%s/%s\n' % (bnp[0].lower(), bnp))
    with open(os.path.join(repodir, 'kojipkgs'), 'w') as fo:
        json.dump(kojipkgs, fo)
    subprocess.run(['createrepo_c', '-q', '-i', os.path.join(repodir, 'pkglist'), repodir],
                   check=True)
    uploadpath = koji.pathinfo.taskrelpath(task_id)
    uploaded = []
    for dirpath, _dirs, files in os.walk(repodir):
        reldir = os.path.relpath(dirpath, repodir)
        for name in files:
            if os.path.islink(os.path.join(dirpath, name)):
                continue
            session.uploadWrapper(os.path.join(dirpath, name), '%s/%s' % (uploadpath, reldir),
                                  name)
            uploaded.append('%s/%s' % (reldir, name))
    manifest = os.path.join(str(workdir), 'repo_manifest')
    with open(manifest, 'w') as fo:
        json.dump(uploaded, fo)
    session.uploadWrapper(manifest, uploadpath)
    return kojipkgs


def test_dist_repo_host_side(devhub, make_builder, signed_tag, tmp_path):
    session = devhub.admin_session()
    tag, key = signed_tag['tag'], signed_tag['key']
    task_id = session.distRepo(tag, [key.upper(), 'abad1dea'],
                               **_cli_opts(allow_missing_signatures=True))
    builder = make_builder()
    session.addHostToChannel(builder.name, 'createrepo')
    parent = builder.take(task_id)
    _tag, repo_id, keys, opts = koji.xmlrpcplus.loads(parent['request'])[0]
    host = builder.session.host
    # NewDistRepoTask: one createdistrepo subtask per arch (arch noarch, label the arch)
    child = host.subtask(method='createdistrepo', arglist=[tag, repo_id, 'x86_64', keys, opts],
                         label='x86_64', parent=task_id, arch='noarch')
    info = session.getTaskInfo(child, request=True)
    assert info['method'] == 'createdistrepo' and info['arch'] == 'noarch'
    assert info['priority'] == 14 and info['label'] == 'x86_64'
    assert session.getChannel(info['channel_id'])['name'] == 'createrepo'
    host.taskSetWait(task_id, [child])
    builder.take(child)
    kojipkgs = _fake_createdistrepo(devhub, builder.session, child, tag, repo_id, 'x86_64',
                                    keys, opts, tmp_path)
    host.closeTask(child, response(None))
    assert host.taskWait(task_id) == [[child], []]
    host.taskWaitResults(task_id, [child])
    uploadpath = koji.pathinfo.taskrelpath(child)
    # another host may move it too: distRepoMove checks no task
    host.distRepoMove(repo_id, uploadpath, 'x86_64')
    host.repoDone(repo_id, {})
    host.closeTask(task_id, response('Dist repository #%s successfully generated' % repo_id))

    repo = session.repoInfo(repo_id)
    assert repo['state'] == RS['READY'] and repo['dist'] is True
    assert session.getRepo(tag, dist=True)['id'] == repo_id
    assert session.getRepo(tag)['id'] != repo_id
    distdir = os.path.join(devhub.topdir, 'repos-dist', tag)
    assert os.readlink(os.path.join(distdir, 'latest')) == str(repo_id)
    archdir = os.path.join(distdir, str(repo_id), 'x86_64')
    assert os.path.isfile(os.path.join(archdir, 'repodata', 'repomd.xml'))
    assert os.path.isfile(os.path.join(archdir, 'kojipkgs'))
    assert os.path.isfile(os.path.join(archdir, 'pkglist'))
    # every rpm is linked in from the file its sigkey names: signed copy or primary rpm
    names = sorted(kojipkgs)
    packages = sorted(f for d in os.listdir(os.path.join(archdir, 'Packages'))
                      for f in os.listdir(os.path.join(archdir, 'Packages', d)))
    assert packages == names and len(names) == 4
    signed_names = set(os.path.basename(signed_tag['signed'][a]) for a in ('x86_64', 'noarch'))
    assert signed_names < set(names)
    for bnp, rpminfo in kojipkgs.items():
        linked = os.path.join(archdir, 'Packages', bnp[0].lower(), bnp)
        assert os.path.samefile(linked, rpminfo['_pkgpath'])
        signed = bnp in signed_names
        assert rpminfo['sigkey'] == (key if signed else None)
        assert ('/data/signed/%s/' % key in rpminfo['_pkgpath']) == signed
        assert koji.get_sighdr_key(koji.rip_rpm_sighdr(linked)) == (key if signed else None)
    url = '%s/repos-dist/%s/latest/x86_64/repodata/repomd.xml' % (devhub.topurl, tag)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert b'<repomd' in resp.read()
    # once READY, no more moves
    with pytest.raises(koji.GenericError, match='Repo is in state: READY'):
        host.distRepoMove(repo_id, uploadpath, 'x86_64')
    with pytest.raises(koji.GenericError, match='not in INIT state'):
        host.repoDone(repo_id, {})


def test_dist_repo_move_refusals(devhub, make_builder, signed_tag, tmp_path):
    session = devhub.admin_session()
    tag, key = signed_tag['tag'], signed_tag['key']
    task_id = session.distRepo(tag, [key], **_cli_opts(allow_missing_signatures=True))
    repo_id = session.getTaskRequest(task_id)[1]
    builder = make_builder()
    session.addHostToChannel(builder.name, 'createrepo')
    parent = builder.take(task_id)
    opts = koji.xmlrpcplus.loads(parent['request'])[0][3]
    host = builder.session.host
    child = host.subtask(method='createdistrepo', arglist=[tag, repo_id, 'x86_64', [key], opts],
                         label='x86_64', parent=task_id, arch='noarch')
    builder.take(child)
    uploadpath = koji.pathinfo.taskrelpath(child)
    # only the host that has the subtask open uploads into its directory
    other = make_builder()
    with pytest.raises(koji.ActionNotAllowed, match='host %d does not own task %d'
                       % (other.id, child)):
        other.session.uploadWrapper(__file__, uploadpath, 'kojipkgs')
    with pytest.raises(koji.ActionNotAllowed, match='does not own task'):
        other.session.host.subtask(method='createdistrepo', arglist=[], label='x',
                                   parent=task_id)
    # distRepoMove is a host call
    with pytest.raises(koji.AuthError, match='is not a host'):
        session.host.distRepoMove(repo_id, uploadpath, 'x86_64')
    with pytest.raises(koji.GenericError, match='Repo arch directory missing'):
        host.distRepoMove(repo_id, uploadpath, 'aarch64')
    with pytest.raises(koji.GenericError, match='Missing repo manifest'):
        host.distRepoMove(repo_id, uploadpath, 'x86_64')
    kojipkgs = _fake_createdistrepo(devhub, builder.session, child, tag, repo_id, 'x86_64',
                                    [key], opts, tmp_path)
    # a kojipkgs entry that does not match the hub's rpm
    bnp = sorted(kojipkgs)[0]
    bad = dict(kojipkgs)
    bad[bnp] = dict(bad[bnp], size=bad[bnp]['size'] + 1)
    path = tmp_path / 'kojipkgs'
    path.write_text(json.dumps(bad))
    builder.session.uploadWrapper(str(path), uploadpath, 'kojipkgs')
    with pytest.raises(koji.GenericError, match='kojipkgs entry does not match db: file %s, '
                       'key size' % bnp):
        host.distRepoMove(repo_id, uploadpath, 'x86_64')
    # a manifest entry that was not uploaded, or leaves the upload
    path.write_text(json.dumps(kojipkgs))
    builder.session.uploadWrapper(str(path), uploadpath, 'kojipkgs')
    manifest = tmp_path / 'repo_manifest'
    manifest.write_text(json.dumps(['./repodata/nothere.xml']))
    builder.session.uploadWrapper(str(manifest), uploadpath, 'repo_manifest')
    with pytest.raises(koji.GenericError, match='uploaded file missing'):
        host.distRepoMove(repo_id, uploadpath, 'x86_64')
    manifest.write_text(json.dumps(['../../../../../devhub.sqlite']))
    builder.session.uploadWrapper(str(manifest), uploadpath, 'repo_manifest')
    with pytest.raises(koji.GenericError, match='Invalid path in repo manifest'):
        host.distRepoMove(repo_id, uploadpath, 'x86_64')
    # nothing moved by the refused calls
    archdir = os.path.join(devhub.topdir, 'repos-dist', tag, str(repo_id), 'x86_64')
    assert os.listdir(archdir) == []
    assert session.repoInfo(repo_id)['state'] == RS['INIT']
