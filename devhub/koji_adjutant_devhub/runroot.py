"""The hub side of koji's runroot plugin (``plugins/hub/runroot_hub.py``).

kojihub has the call only when the plugin is loaded (hub.conf ``Plugins =
runroot_hub``); without it the koji CLI's ``runroot`` command gets "Invalid
method: runroot".  The dev hub loads it unless ``serve --no-runroot``.

``runroot(tagInfo, arch, command, channel=None, **opts)``:

* needs the ``runroot`` permission (or admin);
* ``arch`` goes through ``koji.parse_arches(strict)``; ``command`` must be a
  string (the current plugin refuses a list, which is what ``koji runroot``
  sends without ``--use-shell``; ``serve --runroot-accept-list`` takes lists
  as older plugins did);
* the task goes to channel ``runroot`` (the plugin's fixed default; ``serve
  --runroot-channel``) or the channel given, which must exist; priority 15;
  task arch = ``arch``, except that ``noarch`` becomes one of the tag's arches
  that an enabled host of the channel has, when the tag does not cover every
  arch the hosts have ("no arches defined for tag T", "no common arches for
  tag/channel: T/C");
* the task's arguments are ``koji.encode_args(tagInfo, arch, command, **opts)``
  with the arch as the caller gave it (``packages``, ``mounts``, ``repo_id``,
  ``skip_setarch``, ``weight``, ``new_chroot``, ``upload_logs``, ... pass
  through untouched for the builder).
"""

import random

import koji

from . import context
from . import hosts
from . import tags
from . import tasks


def channel_arches(hub, channel):
    """Canonical arches of the enabled hosts of a channel."""
    chan = hosts.get_channel(hub, channel, strict=True)
    arches = set()
    for host in hosts.list_hosts(hub, channelID=chan['id'], enabled=True):
        for arch in (host['arches'] or '').split():
            arches.add(koji.canonArch(arch))
    return arches


def all_arches(hub):
    """Canonical arches of every host (kojihub's get_all_arches)."""
    arches = set()
    for host in hosts.list_hosts(hub):
        for arch in (host['arches'] or '').split():
            arches.add(koji.canonArch(arch))
    return arches


def runroot(hub, tagInfo, arch, command, channel=None, **opts):
    """Create a runroot task; returns its id."""
    context.session().assertPerm('runroot')
    arch = koji.parse_arches(arch, strict=True, allow_none=False)
    allowed = (str, list) if hub.config.runroot_accept_list else str
    if not isinstance(command, allowed):
        raise koji.ParameterError("Invalid type for value '%s': %s, expected type %s"
                                  % (command, type(command), str))
    taskopts = {'priority': 15, 'arch': arch}
    if channel is None:
        taskopts['channel'] = hub.config.runroot_channel
    else:
        taskopts['channel'] = hosts.get_channel(hub, channel, strict=True)['name']
    tag = tags.get_tag(hub, tagInfo, strict=True)
    if arch == 'noarch':
        # not every arch can make a buildroot of every tag
        if not tag['arches']:
            raise koji.GenericError('no arches defined for tag %s' % tag['name'])
        tagarches = tag['arches'].split()
        if all_arches(hub) - set(tagarches):
            chanarches = channel_arches(hub, taskopts['channel'])
            choices = [a for a in tagarches if a in chanarches]
            if not choices:
                raise koji.GenericError('no common arches for tag/channel: %s/%s'
                                        % (tagInfo, taskopts['channel']))
            taskopts['arch'] = koji.canonArch(random.choice(choices))
    args = koji.encode_args(tagInfo, arch, command, **opts)
    return tasks.make_task(hub, 'runroot', args, **taskopts)
