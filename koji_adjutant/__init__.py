"""koji-adjutant: a koji builder that runs each task in a podman container via Ansible.

The Python package holds the worker daemon, the dev hub and the command line.
The task logic shared with the Ansible modules lives in the collection's
``plugins/module_utils`` and is imported from there (one implementation).
"""

import os
import sys

__version__ = "0.1.0"

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
COLLECTION_ROOT = os.path.dirname(PACKAGE_DIR)


def collections_path():
    """The directory that holds ``ansible_collections/koji_adjutant/builder``.

    In a checkout that is ``<repo>/collections`` (scripts/setup-host.sh links the
    checkout there); in an installed collection it is the collections path the
    collection was installed into.
    """
    parts = COLLECTION_ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    return os.path.join(COLLECTION_ROOT, "collections")


def ensure_collection_importable():
    """Make ``ansible_collections.koji_adjutant.builder`` importable."""
    path = collections_path()
    if path not in sys.path:
        sys.path.insert(0, path)
    marker = os.path.join(path, "ansible_collections", "koji_adjutant", "builder")
    if not os.path.exists(marker):
        raise RuntimeError("the koji_adjutant.builder collection is not at %s; run "
                           "scripts/setup-host.sh (or install the collection)" % marker)


ensure_collection_importable()
