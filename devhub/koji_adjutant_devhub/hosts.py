"""Build hosts and channels."""

import json
import time

import koji

from . import context
from . import users
from .db import load_json, to_bool

HOST_FIELDS = ('id', 'user_id', 'name', 'update_ts', 'ready', 'task_load', 'arches',
               'capacity', 'description', 'comment', 'enabled')


def _host_out(row):
    data = {k: row[k] for k in HOST_FIELDS}
    data['ready'] = bool(data['ready'])
    data['enabled'] = bool(data['enabled'])
    return data


def _host_row(hub, hostInfo):
    if isinstance(hostInfo, dict):
        hostInfo = hostInfo.get('id', hostInfo.get('name'))
    if isinstance(hostInfo, bool):
        raise koji.ParameterError('Invalid name or id value: %r' % (hostInfo,))
    if isinstance(hostInfo, int):
        return hub.db.one('SELECT * FROM hosts WHERE id = ?', (hostInfo,))
    if isinstance(hostInfo, str):
        return hub.db.one('SELECT * FROM hosts WHERE name = ?', (hostInfo,))
    raise koji.ParameterError('Invalid name or id value: %r' % (hostInfo,))


def get_host(hub, hostInfo, strict=False, event=None):
    """Host map as kojihub's getHost returns it."""
    row = _host_row(hub, hostInfo)
    if row is None:
        if strict:
            raise koji.GenericError('Invalid hostInfo: %s' % (hostInfo,))
        return None
    return _host_out(row)


def get_host_data(hub, host_id):
    """The data a builder sent with updateHost (methods, maxjobs, ...)."""
    return load_json(hub.db.value('SELECT data FROM hosts WHERE id = ?', (host_id,)), {}) or {}


def add_host(hub, hostname, arches, krb_principal=None, force=False):
    """Create a host and its HOST user, subscribed to channel 'default'."""
    users.verify_name(hostname, 'Host name')
    if isinstance(arches, str):
        arches = arches.split()
    arches = koji.parse_arches(' '.join(arches), strict=True)
    if get_host(hub, hostname):
        raise koji.GenericError('host already exists: %s' % hostname)
    default_channel = get_channel(hub, 'default', strict=True)['id']
    user = users.get_user(hub, hostname)
    if user:
        if user['usertype'] != koji.USERTYPES['HOST']:
            if force and user['usertype'] == koji.USERTYPES['NORMAL']:
                hub.db.update('users', 'id = ?', (user['id'],), usertype=koji.USERTYPES['HOST'])
            else:
                raise koji.GenericError('user %s already exists and it is not a host' % hostname)
        user_id = user['id']
    else:
        user_id = users.create_user(hub, hostname, usertype=koji.USERTYPES['HOST'],
                                    krb_principal=krb_principal)
    host_id = hub.db.insert('hosts', user_id=user_id, name=hostname, arches=arches,
                            capacity=hub.config.default_capacity)
    hub.db.insert('host_channels', host_id=host_id, channel_id=default_channel)
    context.state_changed()
    return host_id


def edit_host(hub, hostInfo, **kw):
    """Change arches, capacity, description or comment; True if anything changed."""
    host = get_host(hub, hostInfo, strict=True)
    changes = {}
    for field in ('arches', 'capacity', 'description', 'comment'):
        if field in kw and kw[field] != host[field]:
            value = kw[field]
            if field in ('description', 'comment', 'arches') and not isinstance(value, str):
                raise koji.ParameterError('Invalid type for value %r: %s, expected type %s'
                                          % (value, type(value), str))
            if field == 'arches':
                value = koji.parse_arches(value, strict=True)
            if field == 'capacity':
                value = float(value)
            changes[field] = value
    unknown = set(kw) - {'arches', 'capacity', 'description', 'comment'}
    if unknown:
        raise koji.ParameterError('Unknown host option(s): %s' % ', '.join(sorted(unknown)))
    if not changes:
        return False
    hub.db.update('hosts', 'id = ?', (host['id'],), **changes)
    context.state_changed()
    return True


def set_host_enabled(hub, hostname, enabled):
    host = get_host(hub, hostname)
    if not host:
        raise koji.GenericError('host does not exist: %s' % hostname)
    hub.db.update('hosts', 'id = ?', (host['id'],), enabled=1 if enabled else 0)
    context.state_changed()


def list_hosts(hub, arches=None, channelID=None, ready=None, enabled=None, userID=None):
    rows = [_host_out(r) for r in hub.db.query('SELECT * FROM hosts ORDER BY id')]
    if arches is not None:
        if not arches:
            raise koji.GenericError('arches option cannot be empty')
        if not isinstance(arches, (list, tuple)):
            arches = [arches]
        rows = [h for h in rows if set(h['arches'].split()) & set(arches)]
    if channelID is not None:
        chan_id = get_channel(hub, channelID, strict=True)['id']
        member = set(hub.db.column('SELECT host_id FROM host_channels WHERE channel_id = ?',
                                   (chan_id,)))
        rows = [h for h in rows if h['id'] in member]
    if ready is not None:
        rows = [h for h in rows if h['ready'] == bool(ready)]
    if enabled is not None:
        rows = [h for h in rows if h['enabled'] == bool(enabled)]
    if userID is not None:
        user_id = users.get_user(hub, userID, strict=True)['id']
        rows = [h for h in rows if h['user_id'] == user_id]
    return rows


# -- channels ----------------------------------------------------------------

def _channel_out(row):
    if row is None:
        return None
    row = dict(row)
    row['enabled'] = bool(row['enabled'])
    return row


def get_channel(hub, channelInfo, strict=False):
    if isinstance(channelInfo, dict):
        channelInfo = channelInfo.get('id', channelInfo.get('name'))
    if isinstance(channelInfo, int) and not isinstance(channelInfo, bool):
        row = hub.db.one('SELECT * FROM channels WHERE id = ?', (channelInfo,))
    elif isinstance(channelInfo, str):
        row = hub.db.one('SELECT * FROM channels WHERE name = ?', (channelInfo,))
    else:
        raise koji.ParameterError('Invalid name or id value: %r' % (channelInfo,))
    if row is None and strict:
        raise koji.GenericError('No such channel: %s' % (channelInfo,))
    return _channel_out(row)


def add_channel(hub, channel_name, description=None):
    users.verify_name(channel_name, 'Channel name')
    if description is not None and not isinstance(description, str):
        raise koji.ParameterError('Channel description must be a string')
    dup = get_channel(hub, channel_name)
    if dup:
        raise koji.GenericError('channel %(name)s already exists (id=%(id)i)' % dup)
    return hub.db.insert('channels', name=channel_name, description=description)


def list_channels(hub, hostID=None, event=None, enabled=None):
    if hostID:
        host = get_host(hub, hostID, strict=True)
        rows = hub.db.query('SELECT channels.* FROM host_channels JOIN channels '
                            'ON channels.id = host_channels.channel_id '
                            'WHERE host_channels.host_id = ? ORDER BY channels.id',
                            (host['id'],))
    elif event:
        raise koji.GenericError('list_channels with event and not host is not allowed.')
    else:
        rows = hub.db.query('SELECT * FROM channels ORDER BY id')
    rows = [_channel_out(r) for r in rows]
    if enabled is not None:
        rows = [r for r in rows if r['enabled'] == bool(enabled)]
    return rows


def add_host_to_channel(hub, hostname, channel_name, create=False, force=False):
    host = get_host(hub, hostname)
    if host is None:
        raise koji.GenericError('host does not exist: %s' % hostname)
    channel = get_channel(hub, channel_name)
    if channel is None:
        if not create:
            raise koji.GenericError('channel does not exist: %s' % channel_name)
        channel = get_channel(hub, add_channel(hub, channel_name))
    if not force and not channel['enabled']:
        raise koji.GenericError('channel %s is disabled' % channel_name)
    if channel['id'] in [c['id'] for c in list_channels(hub, host['id'])]:
        raise koji.GenericError('host %s is already subscribed to the %s channel'
                                % (hostname, channel_name))
    hub.db.insert('host_channels', host_id=host['id'], channel_id=channel['id'])
    context.state_changed()


def remove_host_from_channel(hub, hostname, channel_name):
    host = get_host(hub, hostname)
    if host is None:
        raise koji.GenericError('host does not exist: %s' % hostname)
    channel = get_channel(hub, channel_name)
    if channel is None:
        raise koji.GenericError('channel does not exist: %s' % channel_name)
    if channel['id'] not in [c['id'] for c in list_channels(hub, host['id'])]:
        raise koji.GenericError('host %s is not subscribed to the %s channel'
                                % (hostname, channel_name))
    hub.db.execute('DELETE FROM host_channels WHERE host_id = ? AND channel_id = ?',
                   (host['id'], channel['id']))
    context.state_changed()


# -- the calling host ----------------------------------------------------------

class Host(object):
    """The build host behind the current session (kojihub's ``Host``)."""

    def __init__(self, hub, id=None):
        self.hub = hub
        sess = context.session()
        remote_id = sess.host_id if sess is not None else None
        if id is None:
            id = remote_id
        if id is None:
            if sess is not None and sess.logged_in:
                raise koji.AuthError('User %i is not a host' % sess.user_id)
            raise koji.AuthError('Not logged-in')
        self.id = id
        self.same_host = (id == remote_id)

    def verify(self):
        """The host.* precondition: we are this host and hold the exclusive lock."""
        if not self.same_host:
            raise koji.AuthError('Host mismatch')
        if not context.session().exclusive:
            raise koji.AuthError('This method requires an exclusive session')
        return True

    def update(self, task_load, ready, data=None):
        """Record what host.updateHost reports (also the 'still alive' signal)."""
        task_load = float(task_load)
        values = {'task_load': task_load, 'ready': 1 if ready else 0, 'update_ts': time.time()}
        if data is not None:
            if not isinstance(data, dict):
                raise koji.ParameterError('Invalid type for data: %s, expected dict' % type(data))
            values['data'] = json.dumps(data)
        self.hub.db.update('hosts', 'id = ?', (self.id,), **values)

    def set_data(self, data):
        if not isinstance(data, dict):
            raise koji.ParameterError('Invalid type for hostdata: %s' % type(data))
        self.hub.db.update('hosts', 'id = ?', (self.id,), data=json.dumps(data))

    def is_enabled(self):
        return to_bool(self.hub.db.value('SELECT enabled FROM hosts WHERE id = ?', (self.id,)))
