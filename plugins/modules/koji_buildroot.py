#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: koji_buildroot
short_description: Manage a koji task's buildroot record and configuration
version_added: 0.1.0
author:
  - koji-adjutant developers (@koji-adjutant)
description:
  - C(state=present) - checks the task's repo (C(repoInfo); READY or EXPIRED), reads the build
    tag as of the repo's event (C(getBuildConfig)), creates the hub's buildroot record
    (C(host.newBuildRoot), state INIT; a re-run re-uses the task's active record), and writes
    the buildroot's dnf repo file and rpm macros file (kojid's macros and the tag's
    C(rpm.macro.*)) into O(config_dir).
  - C(state=present) also chooses the task container's image with the build tag's image
    policy (C(adjutant_image_policy) in the tag's extra, inherited; rules by tag and arch, tag,
    task type, default; cached for C(policy_cache_ttl) seconds), falling back to the worker's
    C(task_image_default). See the operator guide for the policy format.
  - C(state=building) - reads the packages in the task container (or the list O(rpmlist_file)
    holds), reports those installed from the koji repo with C(host.setBuildRootList) (their
    koji ids looked up in multicalls) and sets the state BUILDING.
  - C(state=expired) - reports the final package list (C(host.updateBuildRootList)) when the
    buildroot was BUILDING and O(update_rpmlist) is on, and sets it EXPIRED. Use it in an
    C(always) section so a failed task's buildroot is expired too.
extends_documentation_fragment:
  - koji_adjutant.builder.attributes
  - koji_adjutant.builder.attributes.ACTION_GROUP_TASK
  - koji_adjutant.builder.hub
  - koji_adjutant.builder.hub.TASK
attributes:
  check_mode:
    support: partial
    details: In check mode the repo and tag are read but nothing is created or changed on the hub.
  diff_mode:
    support: none
options:
  state:
    description: What to do with the buildroot.
    type: str
    choices: [present, building, expired]
    default: present
  repo_id:
    description: The koji repo to build from (the task's C(opts.repo_id)). Needed for O(state=present).
    type: int
  arch:
    description:
      - The task's arch. For C(noarch) a buildroot arch is chosen from the tag's arches that the
        host has, as kojid does.
    type: str
  config_dir:
    description: Host directory where O(state=present) writes C(koji.repo) and C(macros.koji).
    type: path
  brootid:
    description: The buildroot id, for O(state=building) and O(state=expired).
    type: int
  update_rpmlist:
    description:
      - With O(state=expired), read the container's packages again and report them with
        C(host.updateBuildRootList) before expiring a BUILDING buildroot, as kojid does after
        a build in which mock may have installed packages.
      - Turn it off when nothing can have installed packages since O(state=building) (the
        task playbooks install every BuildRequires before it and build unprivileged and
        offline); the list is then the one recorded, and a podman exec is saved.
    type: bool
    default: true
  rpmlist_file:
    description:
      - With O(state=building), host path of the package list the last step that installed
        packages wrote (O(koji_adjutant.builder.podman_build_step#module:rpmlist_file), its
        container path under C(/builddir)); read instead of querying the container, which saves
        a podman exec. When the file is missing the container is queried.
      - Every step that installs packages before O(state=building) must write it, or the list
        would miss what a later step installed.
    type: path
  container:
    description:
      - Name of the task container to read the installed packages from; default - the task's
        container (see M(koji_adjutant.builder.podman_build_step))
        (C(rpm -qa) compared with the image's own package list saved at
        C(/var/lib/koji-adjutant/baseline.rpmlist) in the container).
    type: str
"""

EXAMPLES = r"""
- name: Create the buildroot record and its configuration
  koji_adjutant.builder.koji_buildroot:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    repo_id: "{{ task.params.opts.repo_id }}"
    arch: "{{ task.params.arch }}"
    config_dir: "{{ koji_task_dir }}/buildroot"
  register: buildroot

- name: Record the populated buildroot
  koji_adjutant.builder.koji_buildroot:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: building
    brootid: "{{ buildroot.brootid }}"

- name: Expire the buildroot whatever happened
  koji_adjutant.builder.koji_buildroot:
    hub_session_file: "{{ koji_session_file }}"
    task_id: "{{ koji_task_id }}"
    state: expired
    brootid: "{{ buildroot.brootid }}"
"""

RETURN = r"""
brootid:
  description: The hub's buildroot id.
  returned: success
  type: int
  sample: 42
arch:
  description: The arch the buildroot builds for (noarch resolved to a real arch).
  returned: state=present
  type: str
  sample: x86_64
repo:
  description: The repo (C(repoInfo)).
  returned: state=present
  type: dict
tag_name:
  description: The build tag.
  returned: state=present
  type: str
macros:
  description: The rpm macros of the buildroot.
  returned: state=present
  type: dict
  sample: {_topdir: /builddir/build, vendor: Koji}
env:
  description: Environment for build steps from the tag's C(rpm.env.*).
  returned: state=present
  type: dict
repo_file:
  description: Host path of the written dnf repo file (install it as /etc/yum.repos.d/koji.repo).
  returned: state=present
  type: str
macros_file:
  description: Host path of the written macros file (install it as /etc/rpm/macros.koji).
  returned: state=present
  type: str
repo_mount:
  description: >-
    The local topdir to bind-mount read-only at the same path in the container, when the repo is
    read from it (topdir mounted on the worker); else null (the repo is read over topurl).
  returned: state=present
  type: str
image:
  description: The image the task's container should run (the image policy's choice).
  returned: state=present
  type: str
  sample: registry.example.com/koji/buildroot-f41:latest
image_source:
  description: >-
    C(policy) (a rule of the tag's policy matched), C(default) (no policy, no matching rule, a
    malformed policy or a hub error) or C(disabled) (C(policy_enabled = false)).
  returned: state=present
  type: str
  sample: policy
image_reason:
  description: Which policy rule chose the image, or why the default was used.
  returned: state=present
  type: str
  sample: adjutant_image_policy rule tag_arch tag=f41-build arch=x86_64 of tag f41-build
rpmlist:
  description: Packages reported to the hub.
  returned: state=building or expired
  type: list
  elements: dict
not_in_koji:
  description: Packages installed that koji does not know (not reported; the hub would refuse them).
  returned: state=building or expired
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.koji_adjutant.builder.plugins.module_utils import module_common
from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot as br
from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from ansible_collections.koji_adjutant.builder.plugins.module_utils import image_policy


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o644)


def ensure_present(module, config, session):
    params = module.params
    for name in ("repo_id", "arch", "config_dir"):
        if params[name] is None:
            if name == "repo_id":
                module.fail_json(msg="a repo id must be provided", koji_fault="BuildError")
            module.fail_json(msg="state=present needs %s" % name, koji_fault="ParameterError")
    repo = br.usable_repo(session, params["repo_id"])
    tag = br.tag_build_config(session, repo)
    host = session.host.getHost()
    tag_arches = (tag.get("arches") or "").split()
    task = session.getTaskInfo(params["task_id"])
    arch = br.buildroot_arch(params["arch"], tag_arches, (host.get("arches") or "").split(),
                             preferred=task["arch"])
    macros = br.rpm_macros(config, arch, tag)
    baseurl, local_repo = br.repo_location(config, repo, arch)
    image = image_policy.resolve_image(session, config, repo["tag_name"], arch, task["method"])
    result = dict(arch=arch, repo=repo, tag_name=repo["tag_name"], macros=macros,
                  env=br.rpm_env(tag), repo_mount=local_repo, repo_url=baseurl,
                  image=image["image"], image_source=image["source"],
                  image_reason=image["reason"])
    if module.check_mode:
        module.exit_json(changed=True, brootid=None, **result)
    brootid, created = br.new_buildroot(session, params["task_id"], repo["id"], arch)
    if not os.path.isdir(params["config_dir"]):
        os.makedirs(params["config_dir"])
    repo_file = os.path.join(params["config_dir"], "koji.repo")
    macros_file = os.path.join(params["config_dir"], "macros.koji")
    _write(repo_file, br.dnf_repo_text(repo, baseurl))
    _write(macros_file, br.macros_text(macros))
    module.exit_json(changed=created, brootid=brootid, repo_file=repo_file,
                     macros_file=macros_file, **result)


def container_packages(name):
    """(current, baseline) rpm lists of the task container."""
    # one exec: the rpm database now, then the baseline the set-up step wrote
    out = containers.podman(["exec", name, "/bin/sh", "-c", br.package_query_script()]).stdout
    return br.parse_package_query(out)


def package_list(module, config, session, rpmlist_file=None):
    """(known, unknown): the packages installed from the koji repo, with their koji ids, and
    those koji does not know; from ``rpmlist_file`` when the last root step wrote it, else
    from the container."""
    lists = br.read_rpmlist_file(rpmlist_file) if rpmlist_file else None
    if lists is None:
        name = module.params["container"] or containers.container_name(
            module.params["task_id"], config.worker_name)
        try:
            lists = container_packages(name)
        except containers.ContainerError:
            # (looked at only when the query failed: one podman call less for every buildroot)
            if containers.container_state(name) != "running":
                return None, []
            raise
    current, baseline = lists
    known, unknown = br.attach_koji_ids(session, br.installed_from_repo(current, baseline))
    return known, ["%(name)s-%(version)s-%(release)s.%(arch)s" % e for e in unknown]


def ensure_building(module, config, session):
    brootid = module.params["brootid"]
    state = br.buildroot_state(session, brootid)
    if state == "BUILDING":
        module.exit_json(changed=False, brootid=brootid, rpmlist=[], not_in_koji=[])
    if state != "INIT":
        module.fail_json(msg="buildroot %s is %s; cannot start building in it" % (brootid, state),
                         koji_fault="BuildrootError")
    rpmlist, unknown = package_list(module, config, session, module.params["rpmlist_file"])
    if module.check_mode:
        module.exit_json(changed=True, brootid=brootid, rpmlist=rpmlist or [],
                         not_in_koji=unknown)
    session.host.setBuildRootList(brootid, rpmlist or [])
    br.set_state(session, brootid, "BUILDING")
    module.exit_json(changed=True, brootid=brootid, rpmlist=rpmlist or [], not_in_koji=unknown)


def ensure_expired(module, config, session):
    brootid = module.params["brootid"]
    if brootid is None:
        module.exit_json(changed=False, brootid=None, rpmlist=[], not_in_koji=[],
                         msg="no buildroot was created")
    state = br.buildroot_state(session, brootid)
    if state == "EXPIRED":
        module.exit_json(changed=False, brootid=brootid, rpmlist=[], not_in_koji=[])
    if module.check_mode:
        module.exit_json(changed=True, brootid=brootid, rpmlist=[], not_in_koji=[])
    rpmlist, unknown = [], []
    if state == "BUILDING" and module.params["update_rpmlist"]:
        rpmlist, unknown = package_list(module, config, session)
        if rpmlist:
            session.host.updateBuildRootList(brootid, rpmlist)
    br.set_state(session, brootid, "EXPIRED")
    module.exit_json(changed=True, brootid=brootid, rpmlist=rpmlist or [], not_in_koji=unknown)


ARGUMENT_SPEC = module_common.task_argument_spec(
    state=dict(type="str", default="present", choices=["present", "building", "expired"]),
    repo_id=dict(type="int"),
    arch=dict(type="str"),
    config_dir=dict(type="path"),
    brootid=dict(type="int"),
    container=dict(type="str"),
    update_rpmlist=dict(type="bool", default=True),
    rpmlist_file=dict(type="path"),
)

MODULE_OPTIONS = dict(
    supports_check_mode=True,
    required_if=[("state", "building", ("brootid",))],
)


def run_module(module):
    """The module's work (the action plugin of the same name runs it too)."""
    config = module_common.load_module_config(module)
    with module_common.task_hub_session(module, config) as session:
        try:
            if module.params["state"] == "present":
                ensure_present(module, config, session)
            elif module.params["state"] == "building":
                ensure_building(module, config, session)
            else:
                ensure_expired(module, config, session)
        except containers.ContainerError as exc:
            module.fail_json(msg=str(exc), koji_fault="BuildrootError")


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, **MODULE_OPTIONS))


if __name__ == "__main__":
    main()
