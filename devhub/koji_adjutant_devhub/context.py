"""Per-request state of the dev hub (what kojihub keeps in ``koji.context``).

The HTTP layer fills a :class:`CallContext` for each request and binds it to
the handling thread; the hub logic reads it through :func:`current`.
"""

import threading

_local = threading.local()


class CallContext(object):
    """What one XML-RPC request knows about itself."""

    def __init__(self, hub, remote_addr, client_cert_user=None, client_verify='NONE',
                 secure=False):
        self.hub = hub
        self.remote_addr = remote_addr
        # name from the verified client certificate (subject CN), if any
        self.client_cert_user = client_cert_user
        # mirrors mod_ssl's SSL_CLIENT_VERIFY: SUCCESS, NONE or FAILED:<reason>
        self.client_verify = client_verify
        self.secure = secure
        self.session = None
        self.method = None
        self.callnum = None
        self._event_id = None

    @property
    def event_id(self):
        """The event of the current call, created on first use.

        Like kojihub, every state-changing call gets one new event id, shared
        by all the changes it makes.
        """
        if self._event_id is None:
            self._event_id = self.hub.db.new_event()
        return self._event_id

    def reset_event(self):
        """Forget the event (each call of a multiCall gets its own)."""
        self._event_id = None


def bind(ctx):
    _local.ctx = ctx


def unbind():
    _local.ctx = None


def current():
    """Return the CallContext of the running request."""
    ctx = getattr(_local, 'ctx', None)
    if ctx is None:
        raise RuntimeError('no dev hub call context bound to this thread')
    return ctx


def state_changed():
    """Note that the current call changes hub state; returns its event id."""
    return current().event_id


def session():
    """Shortcut for ``current().session``."""
    return current().session
