"""Idempotent seeding of a dev hub (``devhub init``).

Works directly on the database through the same domain code the XML-RPC
calls use, so it can run before (or while) a server is running.
"""

import contextlib
import gc
import os
import shutil
import subprocess

from . import auth
from . import context
from . import hosts
from . import repos
from . import tags
from . import users


@contextlib.contextmanager
def local_call(hub):
    """Bind an anonymous call context (for code run outside a request).

    The block runs in one database transaction.  Garbage collection is paused
    meanwhile: a finalizer that talks to the running hub (a koji
    ClientSession logs out when collected) would otherwise wait for the write
    lock this process holds.
    """
    ctx = context.CallContext(hub, remote_addr='127.0.0.1')
    ctx.session = auth.Session(hub)
    gc_enabled = gc.isenabled()
    gc.disable()
    context.bind(ctx)
    try:
        with hub.db.transaction():
            yield ctx
    finally:
        context.unbind()
        if gc_enabled:
            gc.enable()


def parse_spec(spec, nparts, what):
    parts = spec.split(':')
    if len(parts) != nparts or not all(parts):
        raise ValueError('invalid %s spec %r' % (what, spec))
    return parts


def ensure_user(hub, name, password, perms=()):
    """Create or update a normal user with a password and permissions."""
    with local_call(hub):
        user = users.get_user(hub, name)
        if user is None:
            users.create_user(hub, name, password=password)
        else:
            users.set_password(hub, name, password)
        user_id = users.get_user(hub, name, strict=True)['id']
        have = users.get_user_perms(hub, user_id)
        for perm in perms:
            if perm not in have:
                users.grant_permission(hub, name, perm, create=True)
    return user_id


def ensure_host(hub, name, password, arches, channels=('default',)):
    """Create or update a build host whose user logs in with a password."""
    with local_call(hub):
        host = hosts.get_host(hub, name)
        if host is None:
            hosts.add_host(hub, name, arches)
        else:
            hosts.edit_host(hub, name, arches=' '.join(arches))
        users.set_password(hub, name, password)
        host = hosts.get_host(hub, name, strict=True)
        current = [c['name'] for c in hosts.list_channels(hub, host['id'])]
        for channel in channels:
            if channel not in current:
                hosts.add_host_to_channel(hub, name, channel, create=True)
    return host['id']


def ensure_tag(hub, name, arches, extra=None):
    with local_call(hub):
        tag = tags.get_tag(hub, name)
        arch_str = ' '.join(arches) if arches else None
        if tag is None:
            return tags.create_tag(hub, name, arches=arch_str, extra=extra)
        kwargs = {'arches': arch_str}
        if extra:
            kwargs['extra'] = extra
        tags.edit_tag(hub, name, **kwargs)
        return tag['id']


def ensure_target(hub, name, build_tag, dest_tag):
    with local_call(hub):
        if tags.get_build_target(hub, name) is None:
            tags.create_build_target(hub, name, build_tag, dest_tag)
        else:
            tags.edit_build_target(hub, name, name, build_tag, dest_tag)


def run_createrepo(archdir, outdir, comps=None):
    """createrepo_c over an arch dir of a repo (its pkglist), output to outdir."""
    cmd = ['createrepo_c', '-q', '--no-database', '-i', os.path.join(archdir, 'pkglist'),
           '-o', outdir]
    if comps and os.path.exists(comps):
        cmd += ['-g', comps]
    cmd.append(archdir)
    os.makedirs(outdir, exist_ok=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError('createrepo_c failed (%s): %s' % (proc.returncode, proc.stdout))
    return os.path.join(outdir, 'repodata')


def make_repo(hub, tag, force=False):
    """Make a READY repo for a tag through repoInit + createrepo_c + repoDone.

    Without ``force`` an existing READY repo is kept; returns the repo id.
    """
    with local_call(hub):
        if not force:
            current = repos.get_repo(hub, tag)
            if current:
                return current['id']
        repo_id, _event = repos.repo_init(hub, tag)
        rinfo = repos.repo_info(hub, repo_id, strict=True)
    repodir = repos.repo_dir(hub, repo_id, rinfo['tag_name'])
    comps = os.path.join(repodir, 'groups', 'comps.xml')
    data = {}
    upload_base = os.path.join('devhub-init', 'repo-%d' % repo_id)
    for arch in sorted(os.listdir(repodir)):
        archdir = os.path.join(repodir, arch)
        if arch == 'groups' or not os.path.isdir(archdir) or os.path.islink(archdir):
            continue
        outdir = os.path.join(hub.workdir, upload_base, arch)
        datadir = run_createrepo(archdir, outdir, comps)
        reldata = os.path.relpath(datadir, hub.workdir)
        data[arch] = [reldata, sorted(os.listdir(datadir))]
    with local_call(hub):
        repos.repo_done(hub, repo_id, data)
    shutil.rmtree(os.path.join(hub.workdir, upload_base), ignore_errors=True)
    return repo_id


def have_createrepo():
    return shutil.which('createrepo_c') is not None
