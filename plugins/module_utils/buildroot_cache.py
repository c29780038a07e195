# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cached buildroot images: the installed ``build`` group, re-used within one repo.

kojid throws every buildroot away (koji turns mock's caches off).  Here the
container is committed as a local image once its install group is in, and later
tasks of the same repo start from that image and only install their own
BuildRequires.  Isolation is kept: every task still gets a fresh container.

The image is keyed by everything that decides its content - the buildroot's
dnf repo file (tag and repo id), its rpm macros, the install group, the arch and
the base image's id - so a change in any of them misses the cache.  Images of
repos that are no longer the tag's current READY repo are removed.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

CACHE_REPOSITORY = "localhost/koji-adjutant-buildroot-cache"
LABEL_CACHE = "io.koji.adjutant.buildroot-cache"
LABEL_REPO_ID = "io.koji.adjutant.repo_id"
LABEL_TAG = "io.koji.adjutant.tag"
LABEL_ARCH = "io.koji.adjutant.arch"
LABEL_GROUP = "io.koji.adjutant.install_group"
LABEL_BASE = "io.koji.adjutant.base_image"
LABEL_HUB = "io.koji.adjutant.hub"


def cache_key(repo_text, macros_text, install_group, arch, base_image_id):
    digest = hashlib.sha256()
    for part in (repo_text, macros_text, install_group, arch, base_image_id):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def cache_image_name(key):
    return "%s:%s" % (CACHE_REPOSITORY, key)


def lookup(base_image, install_group, arch, repo_file, macros_file, base_image_id=None):
    """``{"image", "hit", "key", "base_image_id"}``: the image a task should start from
    (``base_image_id``: the base image's id, when the caller has just inspected it)."""
    base_id = base_image_id or containers.podman(["image", "inspect", "--format", "{{.Id}}",
                                                  base_image]).stdout.strip()
    with open(repo_file) as handle:
        repo_text = handle.read()
    with open(macros_file) as handle:
        macros_text = handle.read()
    key = cache_key(repo_text, macros_text, install_group, arch, base_id)
    name = cache_image_name(key)
    hit = containers.image_present(name)
    return {"image": name if hit else base_image, "hit": hit, "cache_key": key,
            "cache_image": name, "base_image_id": base_id}


def commit(container, key, base_image_id, repo, arch, install_group, hub):
    """Commit the populated container as the cache image for ``key``."""
    name = cache_image_name(key)
    args = ["commit", "--pause=true", "--format", "oci"]
    labels = {LABEL_CACHE: "1", LABEL_REPO_ID: str(repo["id"]), LABEL_TAG: repo["tag_name"],
              LABEL_ARCH: arch, LABEL_GROUP: install_group, LABEL_BASE: base_image_id,
              LABEL_HUB: hub}
    for label, value in sorted(labels.items()):
        args += ["--change", "LABEL %s=%s" % (label, json.dumps(value))]
    args += [container, name]
    containers.podman(args, timeout=600)
    return name


def cached_images(hub):
    """Cache images of one hub (its server URL) with their labels.

    podman ORs several ``label=`` filters, so the hub is matched here.
    """
    out = containers.podman(["images", "--format", "json", "--filter",
                             "label=%s=1" % LABEL_CACHE]).stdout.strip() or "[]"
    images = []
    for entry in json.loads(out):
        labels = entry.get("Labels") or {}
        if labels.get(LABEL_HUB) != hub:
            continue
        names = entry.get("Names") or []
        images.append({
            "id": entry.get("Id"),
            "name": names[0] if names else entry.get("Id"),
            "repo_id": int(labels.get(LABEL_REPO_ID, 0) or 0),
            "tag": labels.get(LABEL_TAG),
            "created": entry.get("Created", 0),
        })
    return images


def prune(session, hub, keep_max=None):
    """Remove this hub's cache images of repos that are not their tag's current READY repo
    (or of tags the hub no longer has).

    With ``keep_max``, also the oldest images beyond that number.  Returns the
    names removed.
    """
    removed = []
    current = {}
    kept = []
    for image in cached_images(hub):
        tag = image["tag"]
        if tag not in current:
            try:
                repo = session.getRepo(tag) if tag else None
            except koji.GenericError:
                repo = None  # the tag is gone
            current[tag] = repo["id"] if repo else None
        if image["repo_id"] != current[tag]:
            if _remove(image):
                removed.append(image["name"])
        else:
            kept.append(image)
    if keep_max is not None and len(kept) > keep_max:
        for image in sorted(kept, key=lambda i: i["created"])[:len(kept) - keep_max]:
            if _remove(image):
                removed.append(image["name"])
    return removed


def forget_hub(hub):
    """Remove every cache image of a hub that is gone for good (say, a dev hub of a test run
    on a port of its own); returns the names removed.  ``prune`` keeps a live hub's."""
    return [image["name"] for image in cached_images(hub) if _remove(image)]


def _remove(image):
    proc = containers.podman(["rmi", image["id"]], check=False)
    return proc.returncode == 0
