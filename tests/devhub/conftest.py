"""Fixtures for the dev hub tests: running hubs, build hosts, certificates."""

import koji
import pytest

from devhub_helpers import Builder, unique

from koji_adjutant_devhub.testing import make_ca, make_cert
from koji_adjutant_devhub.testing import DevHub


@pytest.fixture(scope='module')
def devhub(tmp_path_factory):
    """A dev hub shared by the tests of a module (scheduler runs on every getTasks)."""
    topdir = tmp_path_factory.mktemp('devhub') / 'koji'
    with DevHub(topdir=str(topdir), scheduler_interval=0) as hub:
        yield hub


@pytest.fixture(autouse=True)
def _cancel_leftover_tasks(request):
    """After each test: cancel unfinished tasks and disable the hosts it made."""
    yield
    if 'devhub' not in request.fixturenames:
        return
    hub = request.getfixturevalue('devhub')
    if hub.proc is None:
        return
    session = hub.admin_session()
    states = [koji.TASK_STATES[s] for s in ('FREE', 'ASSIGNED', 'OPEN')]
    for task in session.listTasks(opts={'state': states, 'parent': None}):
        session.cancelTask(task['id'])
    # builders of one test must not pick up the tasks of the next one
    for host in session.listHosts(enabled=True):
        session.disableHost(host['name'])
    # nor make newRepo tasks for its repo requests
    hub.drop_repo_requests()


@pytest.fixture
def make_builder(devhub):
    """Factory: make_builder(arches=['x86_64']) -> a ready Builder with a fresh name."""

    def factory(arches=('x86_64',), ready=True, prefix='builder'):
        builder = Builder(devhub, unique(prefix), list(arches))
        if ready:
            builder.ready()
        return builder

    return factory


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """A test CA with server and client certs, plus a client cert from another CA."""
    directory = str(tmp_path_factory.mktemp('pki'))
    ca = make_ca(directory, 'hubca')
    other_ca = make_ca(directory, 'otherca')
    server_key, server_crt, _server_pem = make_cert(directory, ca, 'server', 'localhost', server=True)
    client_pem = make_cert(directory, ca, 'client', 'tlsuser')[2]
    host_pem = make_cert(directory, ca, 'hostcert', 'tlsbuilder')[2]
    rogue_pem = make_cert(directory, other_ca, 'rogue', 'tlsuser')[2]
    return {
        'ca': ca[1], 'server_key': server_key, 'server_crt': server_crt,
        'client_pem': client_pem, 'host_pem': host_pem, 'rogue_pem': rogue_pem,
    }
