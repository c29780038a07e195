"""The development environment of the tests: a source checkout, installed editable.

Python imports ``ansible_collections.koji_adjutant.builder`` through the editable install
(pyproject.toml maps it to the checkout); Ansible finds collections on its own search path,
so the checkout's ``collections/`` (scripts/setup-host.sh links the checkout there, beside
``containers.podman`` and ``ansible.posix``) is that path unless the caller set another.
"""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO_ROOT, "collections"))
