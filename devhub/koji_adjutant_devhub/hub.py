"""The dev hub's core object: configuration, database and file layout."""

import os

import koji

from . import db as dbmod
from .config import HubConfig


DEFAULT_CHANNELS = ('default', 'createrepo')


def format_ts(ts):
    """Render an epoch timestamp the way kojihub renders timestamptz columns."""
    if ts is None:
        return None
    import datetime
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).isoformat(' ')


class Hub(object):
    """State shared by every request of one dev hub instance."""

    def __init__(self, config):
        if not isinstance(config, HubConfig):
            raise TypeError('config must be a HubConfig')
        self.config = config
        os.makedirs(config.topdir, exist_ok=True)
        for sub in ('work', 'repos', 'packages', 'scratch'):
            os.makedirs(os.path.join(config.topdir, sub), exist_ok=True)
        self.pathinfo = koji.PathInfo(topdir=config.topdir)
        self.db = dbmod.Database(config.db_path)
        self._init_data()

    def _init_data(self):
        """Create the rows every koji instance has (channels, base permissions)."""
        with self.db.transaction():
            for name in DEFAULT_CHANNELS:
                self.db.execute('INSERT OR IGNORE INTO channels (name) VALUES (?)', (name,))
            for perm in ('admin', 'host', 'tag', 'target', 'repo', 'build', 'sign',
                         'regen-repo', 'dist-repo'):
                self.db.execute('INSERT OR IGNORE INTO permissions (name) VALUES (?)', (perm,))
            # the user that owns the newRepo tasks made for repo requests (RepoQueueUser);
            # it has no password, as kojira logs in with a certificate
            user = self.config.repo_queue_user
            if user and self.db.value('SELECT id FROM users WHERE name = ?', (user,)) is None:
                user_id = self.db.insert('users', name=user, status=koji.USER_STATUS['NORMAL'],
                                         usertype=koji.USERTYPES['NORMAL'])
                perm_id = self.db.value("SELECT id FROM permissions WHERE name = 'repo'")
                self.db.insert('user_perms', user_id=user_id, perm_id=perm_id)
            if self.db.last_event() is None:
                self.db.new_event()

    def close(self):
        self.db.close()

    # -- paths -------------------------------------------------------------

    @property
    def topdir(self):
        return self.config.topdir

    @property
    def workdir(self):
        return self.config.workdir

    def task_workdir(self, task_id):
        """<topdir>/work/tasks/<id % 10000>/<id>"""
        return os.path.join(self.workdir, self.pathinfo.taskrelpath(task_id))
