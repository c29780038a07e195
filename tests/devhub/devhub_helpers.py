"""Helpers shared by the dev hub tests (names, builders, responses, certificates)."""

import itertools

import koji

_names = itertools.count(1)


def unique(prefix):
    """A name not used before in this test run."""
    return '%s%d' % (prefix, next(_names))


class Builder(object):
    """A build host of the hub with an exclusive session, like kojid has."""

    def __init__(self, hub, name, arches, password='secret'):
        self.hub = hub
        self.name = name
        self.password = password
        self.id = hub.add_host(name, arches, password)
        self.session = hub.host_session(name, password)

    def ready(self, task_load=0.0, methods=None, maxjobs=None):
        data = {}
        if methods is not None:
            data['methods'] = methods
        if maxjobs is not None:
            data['maxjobs'] = maxjobs
        self.session.host.updateHost(task_load, True, data=data or None)

    def take(self, task_id):
        """Poll getTasks until task_id is assigned to us, then open it."""
        assigned = [t['id'] for t in self.session.host.getTasks()]
        assert task_id in assigned, \
            'task %s not assigned to %s: %s' % (task_id, self.name, assigned)
        return self.session.host.openTask(task_id)


def response(value):
    """A closeTask response for value."""
    return koji.xmlrpcplus.dumps((value,), methodresponse=1, allow_none=1)


def fault_response(exc_class, message):
    """A failTask response for a koji exception class."""
    return koji.xmlrpcplus.dumps(koji.xmlrpcplus.Fault(exc_class.faultCode, message))


# -- certificates -------------------------------------------------------------------

