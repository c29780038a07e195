"""The interpreter the test helper runs the dev hub server on.

The ansible-core matrix (scripts/ansible-matrix.sh) runs the tests, and so the worker, on
Pythons that lack the rpm bindings the hub needs; it names another interpreter for the hub in
``KOJI_ADJUTANT_DEVHUB_PYTHON``."""

import sys

from koji_adjutant_devhub import testing
from koji_adjutant_devhub.testing import DevHub


def test_the_hub_runs_on_the_interpreter_the_environment_names(tmp_path, monkeypatch):
    ran = tmp_path / "ran"
    python = tmp_path / "python"
    python.write_text('#!/bin/sh\necho "$@" > %s\nexec %s "$@"\n' % (ran, sys.executable))
    python.chmod(0o755)
    monkeypatch.setenv(testing.PYTHON_ENV, str(python))
    with DevHub(topdir=str(tmp_path / "koji")) as hub:
        assert hub.admin_session().getLoggedInUser()["name"] == "kojiadmin"
    assert ran.read_text().startswith("-m koji_adjutant_devhub serve --topdir %s " % hub.topdir)


def test_without_it_the_hub_runs_on_this_interpreter():
    assert testing.server_python({}) == sys.executable
    assert testing.server_python({testing.PYTHON_ENV: ""}) == sys.executable
