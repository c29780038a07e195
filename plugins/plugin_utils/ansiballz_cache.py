# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep the AnsiballZ payloads of this collection's modules from one playbook run to the next.

Ansible builds a module's AnsiballZ payload (the module and every module_utils file it
imports, found by parsing them) the first time a playbook runs the module, and caches it
in the ``ansiballz_cache`` directory of its per-process local temporary directory, which
goes away with the process.  A task playbook is a new ``ansible-playbook`` process, and it
runs most of its modules once, so it pays that cost (about 0.13 s a module here) for nearly
every module call.

A persistent cache directory holds the payloads of this collection's modules, in a
subdirectory named after a fingerprint of what they are built from (the ansible-core
release and install path, the collection's path, and the content of its modules and
module_utils), so an upgrade or an edited module never reuses an old payload.  Before a
playbook's first module call its per-process cache is seeded from it; after a module was
built, its new payload is kept there.  Payloads of other collections are left alone (their
content is not in the fingerprint).

Runs on the controller (the ``koji_adjutant.builder.warm_local`` connection).
"""

from __future__ import annotations

import hashlib
import os
import shutil

from ansible import constants as C
from ansible import release

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files

# the cache file names of this collection's modules ("<module fqn>-<compression>-<extensions>")
OWN_PREFIX = "ansible_collections.koji_adjutant.builder."
SEEDED_NAME = ".koji_adjutant_persistent_cache"
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SOURCE_DIRS = ("plugins/modules", "plugins/module_utils")


def fingerprint(collection_root=COLLECTION_ROOT):
    """A short digest of what this collection's AnsiballZ payloads are built from."""
    digest = hashlib.sha256()
    for part in (release.__version__, os.path.dirname(os.path.abspath(release.__file__)),
                 os.path.realpath(collection_root)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for source_dir in _SOURCE_DIRS:
        top = os.path.join(collection_root, source_dir)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for filename in sorted(filenames):
                if not filename.endswith(".py"):
                    continue
                path = os.path.join(dirpath, filename)
                digest.update(os.path.relpath(path, top).encode("utf-8", "surrogateescape")
                              + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:16]


def local_cache_dir():
    """This process's AnsiballZ cache (where Ansible looks for and writes payloads)."""
    return os.path.join(C.DEFAULT_LOCAL_TMP, "ansiballz_cache")  # pylint: disable=no-member


def _own_payloads(directory):
    try:
        names = os.listdir(directory)
    except OSError:
        return set()
    return {name for name in names
            if name.startswith(OWN_PREFIX) and not name.endswith(("-part", ".lock"))}


def _copy_atomically(source, target_dir):
    """Copy ``source`` into ``target_dir`` under its own name, never as a partial file."""
    with atomic_files.atomic_write(os.path.join(target_dir, os.path.basename(source)),
                                   binary=True) as target, open(source, "rb") as handle:
        shutil.copyfileobj(handle, target)


def _remove_outdated(root, current):
    """Remove the cache subdirectories of other fingerprints (best effort)."""
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name != current and os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


def persistent_dir(root):
    """The directory of this process's playbook in the persistent cache ``root``.

    The first call in an ``ansible-playbook`` process computes the fingerprint, seeds the
    process's own cache from it and notes the directory there; later calls (each task runs
    in a forked worker) read the note.
    """
    local = local_cache_dir()
    note = os.path.join(local, SEEDED_NAME)
    try:
        with open(note) as handle:
            return handle.read()
    except OSError:
        pass
    key = fingerprint()
    directory = os.path.join(root, key)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        _remove_outdated(root, key)
    os.makedirs(local, exist_ok=True)
    for name in _own_payloads(directory) - _own_payloads(local):
        _copy_atomically(os.path.join(directory, name), local)
    atomic_files.write_text(note, directory)
    return directory


def keep_new_payloads(directory):
    """Copy the payloads this process built that ``directory`` does not have yet."""
    local = local_cache_dir()
    for name in _own_payloads(local) - _own_payloads(directory):
        _copy_atomically(os.path.join(local, name), directory)
