"""rpm signatures and signed copies (kojihub's add_rpm_sig, write_signed_rpm).

A signature of an rpm is its signature header, kept per key id ("sigkey",
lowercase; ``''`` for the header of the unsigned rpm):

* a row in ``rpmsigs`` (rpm_id, sigkey, md5 of the header);
* the header itself in the build directory at
  ``data/sigcache/<sigkey>/<arch>/<N-V-R.A>.rpm.sig`` (``koji.pathinfo.sighdr``).

A *signed copy* is the rpm with that header spliced in, written on request
(``writeSignedRPM``) at ``data/signed/<sigkey>/<arch>/<N-V-R.A>.rpm``
(``koji.pathinfo.signed``) in the build directory, so under topdir (and
topurl) at ``packages/N/V/R/data/signed/<sigkey>/<arch>/<file>``.  That is
where kojid's dist repo tasks take signed rpms from.

Every imported rpm gets the signature it carries (the unsigned one for an
unsigned rpm): ``importRPM`` and ``host.completeBuild`` record it, as
kojihub's imports do.
"""

import os

import koji

from . import builds
from . import users


def signed_path(hub, binfo, rinfo, sigkey):
    return os.path.join(builds.build_dir(hub, binfo), koji.pathinfo.signed(rinfo, sigkey))


def validate_sigkey_value(sigkey):
    """kojihub's checks of a sigkey given by a client."""
    if not isinstance(sigkey, str):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (sigkey, type(sigkey), str))
    if sigkey == '':
        return
    if '/' in sigkey or sigkey.startswith('.'):
        raise koji.GenericError('Invalid sigkey value')
    if sigkey != sigkey.lower():
        raise koji.GenericError('Invalid sigkey value. Must be lowercase')
    users.verify_name(sigkey)


def add_rpm_sig(hub, an_rpm, sighdr, sigkey=None):
    """Store a signature header for an internal rpm (kojihub's add_rpm_sig, koji 1.36).

    The header must carry at least one digest (MD5, SHA1, SHA256, SHA3-256) that the
    rpm's own header also carries, and none that differs; the key id comes from the
    header unless given.
    """
    rinfo = builds.get_rpm(hub, an_rpm, strict=True)
    if rinfo['external_repo_id']:
        raise koji.GenericError('Not an internal rpm: %s (from %s)'
                                % (an_rpm, rinfo['external_repo_name']))
    nvra = '%(name)s-%(version)s-%(release)s.%(arch)s' % rinfo
    binfo = builds.get_build(hub, rinfo['build_id'], strict=True)
    builddir = builds.build_dir(hub, binfo)
    if not os.path.isdir(builddir):
        raise koji.GenericError('No such directory: %s' % builddir)
    if sigkey is not None:
        validate_sigkey_value(sigkey)
    try:
        rawhdr = koji.RawHeader(sighdr)
    except Exception as e:
        raise koji.GenericError('Invalid signature header for %s: %s' % (nvra, e))
    rpm_file = os.path.join(builddir, koji.pathinfo.rpm(rinfo))
    orig = koji.RawHeader(koji.rip_rpm_sighdr(rpm_file))
    matched = False
    for name, sigtag in (('MD5', koji.RPM_SIGTAG_MD5), ('SHA1', koji.RPM_SIGTAG_SHA1),
                         ('SHA256', koji.RPM_SIGTAG_SHA256),
                         ('SHA3-256', koji.RPM_SIGTAG_SHA3_256)):
        if sigtag in rawhdr and sigtag in orig:
            if rawhdr[sigtag] != orig[sigtag]:
                raise koji.GenericError('Wrong %s in signature for %s' % (name, nvra))
            matched = True
    if not matched:
        raise koji.GenericError('Unable to validate signature for %s' % nvra)
    if sigkey is None:
        sigkey = builds.header_sigkey(rawhdr)
    builds.store_sighdr(hub, rinfo, binfo, sigkey, sighdr)


def write_signed_rpm(hub, an_rpm, sigkey, force=False):
    """Write the signed copy of an rpm for a key whose signature the hub has."""
    if not isinstance(sigkey, str):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (sigkey, type(sigkey), str))
    sigkey = sigkey.lower()
    rinfo = builds.get_rpm(hub, an_rpm, strict=True)
    if rinfo['external_repo_id']:
        raise koji.GenericError('Not an internal rpm: %s (from %s)'
                                % (an_rpm, rinfo['external_repo_name']))
    binfo = builds.get_build(hub, rinfo['build_id'], strict=True)
    nvra = '%(name)s-%(version)s-%(release)s.%(arch)s' % rinfo
    rpm_file = os.path.join(builds.build_dir(hub, binfo), koji.pathinfo.rpm(rinfo))
    if not os.path.exists(rpm_file):
        raise koji.GenericError('No such path: %s' % rpm_file)
    if not os.path.isfile(rpm_file):
        raise koji.GenericError('Not a regular file: %s' % rpm_file)
    if not hub.db.value('SELECT sighash FROM rpmsigs WHERE rpm_id = ? AND sigkey = ?',
                        (rinfo['id'], sigkey)):
        raise koji.GenericError('No cached signature for package %s, key %s' % (nvra, sigkey))
    signed = signed_path(hub, binfo, rinfo, sigkey)
    if os.path.exists(signed):
        if not force:
            return None
        os.unlink(signed)
    with open(builds.sighdr_path(hub, binfo, rinfo, sigkey), 'rb') as fo:
        sighdr = fo.read()
    os.makedirs(os.path.dirname(signed), exist_ok=True)
    koji.splice_rpm_sighdr(sighdr, rpm_file, dst=signed)
    return None
