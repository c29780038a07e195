"""Helpers shared by the dev hub tests (names, builders, responses, certificates)."""

import itertools
import os
import subprocess

import koji

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


# -- certificates -------------------------------------------------------------------

def _openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(directory, name):
    key, crt = '%s.key' % name, '%s.crt' % name
    _openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
             '-nodes', '-days', '2', '-subj', '/CN=%s' % name, '-keyout', key, '-out', crt,
             '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign', cwd=directory)
    return os.path.join(directory, key), os.path.join(directory, crt)


def make_cert(directory, ca, name, cn, server=False):
    """A certificate signed by ca=(key, crt); returns (key, crt, combined pem)."""
    ca_key, ca_crt = ca
    key, csr, crt = '%s.key' % name, '%s.csr' % name, '%s.crt' % name
    ext = os.path.join(directory, '%s.ext' % name)
    with open(ext, 'w') as fo:
        if server:
            fo.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n'
                     'extendedKeyUsage=serverAuth\n')
        else:
            fo.write('extendedKeyUsage=clientAuth\n')
    _openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
             '-subj', '/CN=%s' % cn, '-keyout', key, '-out', csr, cwd=directory)
    _openssl('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial',
             '-days', '2', '-out', crt, '-extfile', ext, cwd=directory)
    pem = os.path.join(directory, '%s.pem' % name)
    with open(pem, 'w') as out:
        for part in (crt, key):
            with open(os.path.join(directory, part)) as fo:
                out.write(fo.read())
    return os.path.join(directory, key), os.path.join(directory, crt), pem
