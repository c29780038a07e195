"""Helpers shared by the dev hub tests (names, builders, responses, certificates)."""

import glob
import itertools
import os
import shutil
import subprocess
import sys

import koji
import pytest

_names = itertools.count(1)


def unique(prefix):
    """A name not used before in this test run."""
    return '%s%d' % (prefix, next(_names))


class Builder(object):
    """A build host of the hub with an exclusive session, like kojid has."""

    def __init__(self, hub, name, arches, password='secret'):
        self.hub = hub
        self.name = name
        self.password = password
        self.id = hub.add_host(name, arches, password)
        self.session = hub.host_session(name, password)

    def ready(self, task_load=0.0, methods=None, maxjobs=None):
        data = {}
        if methods is not None:
            data['methods'] = methods
        if maxjobs is not None:
            data['maxjobs'] = maxjobs
        self.session.host.updateHost(task_load, True, data=data or None)

    def take(self, task_id):
        """Poll getTasks until task_id is assigned to us, then open it."""
        assigned = [t['id'] for t in self.session.host.getTasks()]
        assert task_id in assigned, \
            'task %s not assigned to %s: %s' % (task_id, self.name, assigned)
        return self.session.host.openTask(task_id)


def response(value):
    """A closeTask response for value."""
    return koji.xmlrpcplus.dumps((value,), methodresponse=1, allow_none=1)


def fault_response(exc_class, message):
    """A failTask response for a koji exception class."""
    return koji.xmlrpcplus.dumps(koji.xmlrpcplus.Fault(exc_class.faultCode, message))


# -- the koji CLI ---------------------------------------------------------------------

def koji_cli():
    """The koji CLI of the Python running the tests (same venv), else the one on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), 'koji')
    if os.path.exists(candidate):
        return candidate
    return shutil.which('koji')


def run_koji(hub, config, *args, check=True, user=None, password=None):
    """Run ``koji`` as the hub's admin (or user); returns stdout (stdout+stderr if
    check=False)."""
    cli = koji_cli()
    if cli is None:
        pytest.skip('koji CLI not installed')
    proc = subprocess.run([cli] + hub.koji_cli_args(config, user, password) + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60, check=False)
    if check:
        assert proc.returncode == 0, 'koji %s failed:\n%s\n%s' % (args, proc.stdout,
                                                                  proc.stderr)
        return proc.stdout
    return proc.returncode, proc.stdout + proc.stderr


# -- rpms -----------------------------------------------------------------------------

SPEC = """\
%global debug_package %{nil}
Name: NAME
Version: VERSION
Release: %{rel}
Summary: A test package of the dev hub tests
License: MIT

%description
A test package.

%package data
Summary: Data of the test package
BuildArch: noarch

%description data
Data.

%install
mkdir -p %{buildroot}/usr/lib/NAME %{buildroot}/usr/share/NAME
echo %{version}-%{release} > %{buildroot}/usr/lib/NAME/hello
echo data > %{buildroot}/usr/share/NAME/data
VARIANT_INSTALL

%files
/usr/lib/NAME/hello

%files data
/usr/share/NAME/data
VARIANT_FILE
"""


def build_rpms(workdir, name, version='1.0', release='1', variant=False):
    """rpmbuild a tiny package: {'src': SRPM, 'x86_64': the x86_64 rpm, 'noarch': NAME-data}.

    variant: the noarch NAME-data rpm has one more file (rpmdiff tells it from the other).
    """
    if shutil.which('rpmbuild') is None:
        pytest.skip('rpmbuild not installed')
    os.makedirs(workdir, exist_ok=True)
    spec = os.path.join(workdir, '%s.spec' % name)
    text = SPEC.replace('NAME', name).replace('VERSION', version)
    if variant:
        text = text.replace('VARIANT_INSTALL', 'echo more > %%{buildroot}/usr/share/%s/more'
                            % name).replace('VARIANT_FILE', '/usr/share/%s/more' % name)
    else:
        text = text.replace('VARIANT_INSTALL\n', '').replace('VARIANT_FILE\n', '')
    with open(spec, 'w') as fo:
        fo.write(text)
    top = os.path.join(workdir, 'rpmbuild-%s-%s-%s' % (name, version, release))
    subprocess.run(['rpmbuild', '-ba', '--quiet', '--target', 'x86_64', '--define',
                    '_topdir %s' % top, '--define', 'rel %s' % release, spec],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nvr = '%s-%s-%s' % (name, version, release)
    return {
        'src': glob.glob(os.path.join(top, 'SRPMS', '%s.src.rpm' % nvr))[0],
        'x86_64': glob.glob(os.path.join(top, 'RPMS', 'x86_64', '%s.x86_64.rpm' % nvr))[0],
        'noarch': glob.glob(os.path.join(top, 'RPMS', 'noarch',
                                         '%s-data-%s-%s.noarch.rpm'
                                         % (name, version, release)))[0],
    }
