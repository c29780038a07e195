"""SQLite persistence for the dev hub.

One :class:`Database` object owns one SQLite connection that every server
thread shares.  All access goes through :meth:`Database.transaction`, which
takes a re-entrant lock, so calls are serialized: the dev hub favours simple,
predictable behaviour over throughput.

Tables follow koji's data model closely enough that builds, tag listings and
package lists can be added later without reshaping what exists (ids are
integers from AUTOINCREMENT columns, state values are koji's enum numbers,
times are stored as epoch floats and exposed in koji's formats).
"""

import contextlib
import json
import sqlite3
import threading
import time

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT
);

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password TEXT,
    status INTEGER NOT NULL DEFAULT 0,
    usertype INTEGER NOT NULL DEFAULT 0,
    krb_principal TEXT
);

CREATE TABLE IF NOT EXISTS user_perms (
    user_id INTEGER NOT NULL REFERENCES users(id),
    perm_id INTEGER NOT NULL REFERENCES permissions(id),
    create_event INTEGER REFERENCES events(id),
    PRIMARY KEY (user_id, perm_id)
);

CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    hostip TEXT,
    authtype INTEGER,
    master INTEGER REFERENCES sessions(id),
    exclusive INTEGER,            -- 1 or NULL, like koji (unique per user)
    callnum INTEGER,
    start_ts REAL NOT NULL,
    update_ts REAL NOT NULL,
    renew_ts REAL,
    expired INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id, closed);

CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    comment TEXT
);

CREATE TABLE IF NOT EXISTS hosts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    name TEXT NOT NULL UNIQUE,
    arches TEXT NOT NULL DEFAULT '',
    task_load REAL NOT NULL DEFAULT 0.0,
    capacity REAL NOT NULL DEFAULT 2.0,
    ready INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    description TEXT,
    comment TEXT,
    update_ts REAL,
    data TEXT                     -- json, as sent with host.updateHost
);

CREATE TABLE IF NOT EXISTS host_channels (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    PRIMARY KEY (host_id, channel_id)
);

CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state INTEGER NOT NULL,
    create_ts REAL NOT NULL,
    start_ts REAL,
    completion_ts REAL,
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    host_id INTEGER REFERENCES hosts(id),
    parent INTEGER REFERENCES tasks(id),
    label TEXT,
    waiting INTEGER,
    awaited INTEGER,
    owner INTEGER NOT NULL REFERENCES users(id),
    method TEXT NOT NULL,
    arch TEXT NOT NULL,
    priority INTEGER NOT NULL,
    weight REAL NOT NULL,
    request TEXT NOT NULL,        -- XML-RPC methodCall text
    result TEXT                   -- XML-RPC methodResponse text
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE INDEX IF NOT EXISTS tasks_parent ON tasks(parent);
CREATE INDEX IF NOT EXISTS tasks_host ON tasks(host_id, state);

CREATE TABLE IF NOT EXISTS task_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    active INTEGER NOT NULL DEFAULT 1,
    create_ts REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS task_refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    by_host INTEGER NOT NULL DEFAULT 1,
    soft INTEGER NOT NULL DEFAULT 1,
    msg TEXT,
    ts REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS scheduler_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    task_id INTEGER,
    host_id INTEGER,
    msg TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    arches TEXT,
    perm_id INTEGER REFERENCES permissions(id),
    locked INTEGER NOT NULL DEFAULT 0,
    maven_support INTEGER NOT NULL DEFAULT 0,
    maven_include_all INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',   -- json object
    create_event INTEGER REFERENCES events(id)
);

CREATE TABLE IF NOT EXISTS tag_inheritance (
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    parent_id INTEGER NOT NULL REFERENCES tags(id),
    priority INTEGER NOT NULL,
    maxdepth INTEGER,
    intransitive INTEGER NOT NULL DEFAULT 0,
    noconfig INTEGER NOT NULL DEFAULT 0,
    pkg_filter TEXT NOT NULL DEFAULT '',
    create_event INTEGER REFERENCES events(id),
    PRIMARY KEY (tag_id, parent_id)
);

CREATE TABLE IF NOT EXISTS build_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    build_tag INTEGER NOT NULL REFERENCES tags(id),
    dest_tag INTEGER NOT NULL REFERENCES tags(id),
    create_event INTEGER REFERENCES events(id)
);

CREATE TABLE IF NOT EXISTS repos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    state INTEGER NOT NULL,
    create_event INTEGER NOT NULL REFERENCES events(id),
    creation_ts REAL NOT NULL,
    state_ts REAL NOT NULL,
    task_id INTEGER REFERENCES tasks(id),
    dist INTEGER NOT NULL DEFAULT 0,
    opts TEXT NOT NULL DEFAULT '{}',
    custom_opts TEXT NOT NULL DEFAULT '{}',
    begin_event INTEGER REFERENCES events(id),
    end_event INTEGER REFERENCES events(id)
);

CREATE TABLE IF NOT EXISTS buildroots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    repo_id INTEGER NOT NULL REFERENCES repos(id),
    arch TEXT NOT NULL,
    task_id INTEGER REFERENCES tasks(id),
    state INTEGER NOT NULL,
    container_type TEXT NOT NULL,
    create_event INTEGER REFERENCES events(id),
    retire_event INTEGER REFERENCES events(id),
    extra TEXT
);

CREATE TABLE IF NOT EXISTS buildroot_listing (
    buildroot_id INTEGER NOT NULL REFERENCES buildroots(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    release TEXT NOT NULL,
    epoch INTEGER,
    arch TEXT NOT NULL,
    payloadhash TEXT,
    size INTEGER,
    buildtime INTEGER,
    rpm_id INTEGER,
    location TEXT,
    is_update INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS buildroot_listing_br ON buildroot_listing(buildroot_id);

-- packages, builds and rpms (kojihub's package, build, rpminfo tables, one
-- volume, DEFAULT = 0)
CREATE TABLE IF NOT EXISTS package (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS build (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pkg_id INTEGER NOT NULL REFERENCES package(id),
    version TEXT NOT NULL,
    release TEXT NOT NULL,
    epoch INTEGER,
    draft INTEGER NOT NULL DEFAULT 0,
    source TEXT,
    create_event INTEGER NOT NULL REFERENCES events(id),
    start_ts REAL,
    completion_ts REAL,
    state INTEGER NOT NULL,
    task_id INTEGER REFERENCES tasks(id),
    owner INTEGER NOT NULL REFERENCES users(id),
    volume_id INTEGER NOT NULL DEFAULT 0,
    cg_id INTEGER,
    extra TEXT,                   -- json or NULL
    UNIQUE (pkg_id, version, release)
);

CREATE TABLE IF NOT EXISTS rpminfo (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id INTEGER REFERENCES build(id),
    buildroot_id INTEGER REFERENCES buildroots(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    release TEXT NOT NULL,
    epoch INTEGER,
    arch TEXT NOT NULL,
    draft INTEGER NOT NULL DEFAULT 0,
    external_repo_id INTEGER NOT NULL DEFAULT 0,
    payloadhash TEXT NOT NULL,
    size INTEGER NOT NULL,
    buildtime INTEGER NOT NULL,
    metadata_only INTEGER NOT NULL DEFAULT 0,
    extra TEXT,
    UNIQUE (name, version, release, arch, external_repo_id)
);
CREATE INDEX IF NOT EXISTS rpminfo_build ON rpminfo(build_id);

-- signature headers seen for rpms (sigkey '' = unsigned), as kojihub's rpmsigs
CREATE TABLE IF NOT EXISTS rpmsigs (
    rpm_id INTEGER NOT NULL REFERENCES rpminfo(id),
    sigkey TEXT NOT NULL,
    sighash TEXT NOT NULL,
    PRIMARY KEY (rpm_id, sigkey)
);

-- versioned tables: rows are never changed, only revoked (active NULL,
-- revoke_event set) and replaced, as in kojihub, so they can be read "at an event"
CREATE TABLE IF NOT EXISTS tag_listing (
    build_id INTEGER NOT NULL REFERENCES build(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);
CREATE INDEX IF NOT EXISTS tag_listing_tag ON tag_listing(tag_id, active);

CREATE TABLE IF NOT EXISTS tag_packages (
    package_id INTEGER NOT NULL REFERENCES package(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    blocked INTEGER NOT NULL DEFAULT 0,
    extra_arches TEXT,
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);
CREATE INDEX IF NOT EXISTS tag_packages_tag ON tag_packages(tag_id, active);

CREATE TABLE IF NOT EXISTS tag_package_owners (
    package_id INTEGER NOT NULL REFERENCES package(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    owner INTEGER NOT NULL REFERENCES users(id),
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);

CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS group_config (
    group_id INTEGER NOT NULL REFERENCES groups(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    blocked INTEGER NOT NULL DEFAULT 0,
    exported INTEGER NOT NULL DEFAULT 1,
    display_name TEXT NOT NULL,
    is_default INTEGER,
    uservisible INTEGER NOT NULL DEFAULT 1,
    description TEXT,
    langonly TEXT,
    biarchonly INTEGER NOT NULL DEFAULT 0,
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);

CREATE TABLE IF NOT EXISTS group_package_listing (
    group_id INTEGER NOT NULL REFERENCES groups(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    package TEXT NOT NULL,
    blocked INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    basearchonly INTEGER,
    requires TEXT,
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);

CREATE TABLE IF NOT EXISTS group_req_listing (
    group_id INTEGER NOT NULL REFERENCES groups(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    req_id INTEGER NOT NULL REFERENCES groups(id),
    blocked INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    is_metapkg INTEGER NOT NULL DEFAULT 0,
    create_event INTEGER NOT NULL REFERENCES events(id),
    revoke_event INTEGER REFERENCES events(id),
    creator_id INTEGER REFERENCES users(id),
    revoker_id INTEGER REFERENCES users(id),
    active INTEGER
);

-- non-versioned tag changes (kojihub's tag_updates: IMPORT, VOLUME_CHANGE,
-- MANUAL), the dev hub also records tag config/inheritance changes here
-- (type CONFIG), as its tags and inheritance are not versioned
CREATE TABLE IF NOT EXISTS tag_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    update_event INTEGER NOT NULL REFERENCES events(id),
    updater_id INTEGER REFERENCES users(id),
    update_type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tag_updates_tag ON tag_updates(tag_id);

-- build and tag notifications the hub decided on (kojihub's build_notification and
-- tag_notification): the dev hub sends no mail, it records them here and makes the
-- buildNotification/tagNotification tasks only when configured to
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    type TEXT NOT NULL,              -- 'build' or 'tag'
    build_id INTEGER,
    task_id INTEGER,                 -- build notifications: the build task
    tag_id INTEGER,                  -- tag notifications: tag, from tag, user
    from_id INTEGER,
    user_id INTEGER,
    state INTEGER,                   -- build state (build) / COMPLETE or FAILED (tag)
    is_successful INTEGER,
    ignore_success INTEGER,
    failure_msg TEXT,
    recipients TEXT NOT NULL,        -- json list of addresses
    notify_task_id INTEGER           -- the notification task, when one was made
);

-- repo requests (kojihub/repos.py repo_queue)
CREATE TABLE IF NOT EXISTS repo_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    create_ts REAL NOT NULL,
    owner INTEGER REFERENCES users(id),
    priority INTEGER NOT NULL,
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    at_event INTEGER REFERENCES events(id),
    min_event INTEGER REFERENCES events(id),
    opts TEXT NOT NULL,           -- json object
    update_ts REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    task_id INTEGER REFERENCES tasks(id),
    tries INTEGER NOT NULL DEFAULT 0,
    repo_id INTEGER REFERENCES repos(id)
);
"""


def to_bool(value):
    """Convert an SQLite integer flag (or NULL) to a Python bool/None."""
    if value is None:
        return None
    return bool(value)


def load_json(text, default=None):
    """Decode a json column, returning *default* for NULL/empty values."""
    if text is None or text == '':
        return default
    return json.loads(text)


class Database(object):
    """A thread-shared SQLite connection with serialized transactions."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(path, check_same_thread=False,
                                    isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute('PRAGMA foreign_keys = ON')
        self.conn.execute('PRAGMA journal_mode = WAL')
        self.conn.execute('PRAGMA synchronous = NORMAL')
        with self.transaction():
            for statement in SCHEMA.split(';'):
                if statement.strip():
                    self.conn.execute(statement)
            self._migrate()
            self.conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),))
            self.conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                              (str(SCHEMA_VERSION),))

    def _migrate(self):
        """Bring databases made by older dev hubs up to the current schema."""
        columns = [row[1] for row in self.conn.execute('PRAGMA table_info(repos)')]
        for column in ('begin_event', 'end_event'):
            if column not in columns:
                self.conn.execute('ALTER TABLE repos ADD COLUMN %s INTEGER '
                                  'REFERENCES events(id)' % column)

    def close(self):
        with self.lock:
            self.conn.close()

    @contextlib.contextmanager
    def transaction(self):
        """Run a block atomically.

        Nested use is allowed (a SAVEPOINT is used for inner blocks), so a
        failing call inside a multiCall rolls back only its own changes.
        """
        with self.lock:
            depth = self._depth
            name = 'sp%d' % depth
            if depth == 0:
                self.conn.execute('BEGIN IMMEDIATE')
            else:
                self.conn.execute('SAVEPOINT %s' % name)
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self.conn.execute('ROLLBACK')
                else:
                    self.conn.execute('ROLLBACK TO %s' % name)
                    self.conn.execute('RELEASE %s' % name)
                raise
            else:
                self._depth -= 1
                if depth == 0:
                    self.conn.execute('COMMIT')
                else:
                    self.conn.execute('RELEASE %s' % name)

    # -- query helpers ---------------------------------------------------

    def execute(self, sql, params=()):
        with self.lock:
            return self.conn.execute(sql, params)

    def query(self, sql, params=()):
        """Return all rows as a list of dicts."""
        with self.lock:
            return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def one(self, sql, params=()):
        """Return the first row as a dict, or None."""
        with self.lock:
            row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def value(self, sql, params=()):
        """Return the first column of the first row, or None."""
        with self.lock:
            row = self.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def column(self, sql, params=()):
        """Return the first column of every row as a list."""
        with self.lock:
            return [row[0] for row in self.conn.execute(sql, params).fetchall()]

    def insert(self, table, **data):
        """Insert one row and return its id."""
        cols = ', '.join(data)
        marks = ', '.join(['?'] * len(data))
        with self.lock:
            cur = self.conn.execute('INSERT INTO %s (%s) VALUES (%s)' % (table, cols, marks),
                                    tuple(data.values()))
            return cur.lastrowid

    def update(self, table, where, params, **data):
        """Update rows matching *where*; return the number of changed rows."""
        assigns = ', '.join('%s = ?' % col for col in data)
        with self.lock:
            cur = self.conn.execute('UPDATE %s SET %s WHERE %s' % (table, assigns, where),
                                    tuple(data.values()) + tuple(params))
            return cur.rowcount

    # -- small key/value store -------------------------------------------

    def get_meta(self, name, default=None):
        value = self.value('SELECT value FROM meta WHERE name = ?', (name,))
        return default if value is None else value

    def set_meta(self, name, value):
        self.execute('INSERT INTO meta (name, value) VALUES (?, ?) '
                     'ON CONFLICT(name) DO UPDATE SET value = excluded.value',
                     (name, str(value)))

    # -- events ------------------------------------------------------------

    def new_event(self):
        """Record a new event and return its id."""
        return self.insert('events', ts=time.time())

    def last_event(self):
        return self.one('SELECT id, ts FROM events ORDER BY id DESC LIMIT 1')
