#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: podman_buildroot_cache
short_description: Re-use buildroots with their install group already in, within one koji repo
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - kojid throws every buildroot away. This module keeps the populated install group of a
    buildroot as a local image, keyed by its dnf repo file (tag and repo id), its rpm macros, the
    install group, the arch and the base image's id, so later tasks of the same repo start from
    it and only install their own BuildRequires. Every task still gets a fresh container.
  - C(state=lookup) returns the image a task should start from, and whether it is a cached one.
    The base image is pulled first when C([adjutant] image_pull_policy) asks for it (also with
    C(buildroot_cache = false)), so the task's container can start from the returned image
    without another pull.
  - C(state=committed) commits the task's container (after the group install, before anything
    task-specific) as the cache image.
  - C(state=pruned) removes this hub's cache images of repos that are not their tag's current
    READY repo, and the oldest beyond C(buildroot_cache_max_images).
  - With C(buildroot_cache = false) in the C([adjutant]) settings, lookups always miss and
    commits do nothing.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
attributes:
  check_mode:
    support: partial
    details: Lookups run in check mode; commits and pruning report what they would do.
  diff_mode:
    support: none
options:
  koji_config:
    description: Path of the worker's kojid.conf.
    type: path
    default: /etc/kojid/kojid.conf
  hub_session_file:
    description: The task's hub session file (O(state=pruned) asks the hub which repos are current).
    type: path
  state:
    description: What to do.
    type: str
    choices: [lookup, committed, pruned]
    default: lookup
  task_id:
    description: The task whose container is committed (O(state=committed)).
    type: int
  image:
    description: Base image (default - C(task_image_default) of the config).
    type: str
  install_group:
    description: The comps group the cached layer holds.
    type: str
    default: build
  arch:
    description: The buildroot arch.
    type: str
  repo_file:
    description: The buildroot's dnf repo file (from M(koji_adjutant.builder.koji_buildroot)).
    type: path
  macros_file:
    description: The buildroot's rpm macros file (from M(koji_adjutant.builder.koji_buildroot)).
    type: path
  cache_key:
    description: The cache key from O(state=lookup) (O(state=committed)).
    type: str
  base_image_id:
    description: The base image id from O(state=lookup) (O(state=committed)).
    type: str
  repo:
    description: The repo (C(repoInfo)) the buildroot uses (O(state=committed)).
    type: dict
"""

EXAMPLES = r"""
- name: Find a cached buildroot for this repo
  koji_adjutant.builder.podman_buildroot_cache:
    koji_config: /etc/kojid/kojid.conf
    arch: x86_64
    repo_file: "{{ buildroot.repo_file }}"
    macros_file: "{{ buildroot.macros_file }}"
  register: cache

- name: Keep the populated group layer
  koji_adjutant.builder.podman_buildroot_cache:
    state: committed
    task_id: "{{ koji_task_id }}"
    arch: x86_64
    cache_key: "{{ cache.cache_key }}"
    base_image_id: "{{ cache.base_image_id }}"
    repo: "{{ buildroot.repo }}"
  when: not cache.hit
"""

RETURN = r"""
image:
  description: The image to start the task container from (O(state=lookup)).
  returned: state=lookup
  type: str
hit:
  description: Whether it is a cached buildroot (skip the group install then).
  returned: state=lookup
  type: bool
cache_key:
  description: The cache key.
  returned: state=lookup
  type: str
base_image_id:
  description: Id of the base image.
  returned: state=lookup
  type: str
cache_image:
  description: Name of the cache image for the key.
  returned: state=lookup or committed
  type: str
removed:
  description: Images removed (O(state=pruned)).
  returned: state=pruned
  type: list
  elements: str
koji_adjutant:
  description:
    - What the worker daemon learns from this step (see the collection's C(docs/architecture.md)) -
      C(buildroot_cache), C(hit) or C(miss).
  returned: state=lookup with the buildroot cache on
  type: dict
  sample: {buildroot_cache: hit}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot_cache
from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session

try:
    import koji
except ImportError:
    koji = None


ARGUMENT_SPEC = dict(
    koji_config=module_common.HUB_ARGUMENT_SPEC["koji_config"],
    hub_session_file=dict(type="path"),
    state=dict(type="str", default="lookup", choices=["lookup", "committed", "pruned"]),
    task_id=dict(type="int"),
    image=dict(type="str"),
    install_group=dict(type="str", default="build"),
    arch=dict(type="str"),
    repo_file=dict(type="path"),
    macros_file=dict(type="path"),
    cache_key=dict(type="str", no_log=False),
    base_image_id=dict(type="str"),
    repo=dict(type="dict"),
)

MODULE_OPTIONS = dict(
    required_if=[("state", "lookup", ("arch", "repo_file", "macros_file")),
                 ("state", "committed", ("task_id", "arch", "cache_key", "base_image_id", "repo")),
                 ("state", "pruned", ("hub_session_file",))],
    supports_check_mode=True,
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    params = module.params
    config = module_common.load_module_config(module)
    image = params["image"] or config.task_image_default
    try:
        if params["state"] == "lookup":
            # the policy's image may not be here yet: pull it per image_pull_policy (once per
            # task: the container is started from what this returns, without pulling again)
            base = containers.ensure_image(image, config.image_pull_policy,
                                           timeout=config.container_timeouts["pull"] or None)
            if not config.buildroot_cache:
                module.exit_json(changed=False, image=image, hit=False, cache_key="",
                                 base_image_id="", cache_image="")
            found = buildroot_cache.lookup(image, params["install_group"], params["arch"],
                                           params["repo_file"], params["macros_file"],
                                           base_image_id=base["id"])
            found.update(module_common.daemon_report(**{
                module_common.BUILDROOT_CACHE: "hit" if found["hit"] else "miss"}))
            module.exit_json(changed=False, **found)
        if params["state"] == "committed":
            if not config.buildroot_cache or module.check_mode:
                module.exit_json(changed=config.buildroot_cache, cache_image="")
            name = buildroot_cache.commit(
                containers.container_name(params["task_id"], config.worker_name),
                params["cache_key"],
                params["base_image_id"], params["repo"], params["arch"], params["install_group"],
                config.server)
            module.exit_json(changed=True, cache_image=name)
        session = module_common.open_module_session(module, config)
        try:
            removed = [] if module.check_mode else buildroot_cache.prune(
                session, config.server, config.buildroot_cache_max_images)
        finally:
            hub_session.release_session(session)
        module.exit_json(changed=bool(removed), removed=removed)
    except containers.ContainerError as exc:
        module.fail_json(msg="buildroot cache: %s" % exc, koji_fault="BuildrootError")
    except koji.GenericError as exc:
        module_common.fail_from_exception(module, exc)


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()
