# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registering a build host on the hub, as an administrator does with ``koji add-host``.

The work of the ``koji_host`` module: compare the host the hub knows (``getHost``,
``listChannels``) with the wanted one, make a plan of hub calls (``addHost``, ``editHost``,
``enableHost``/``disableHost``, ``addHostToChannel``, ``removeHostFromChannel``), check it
(channels exist, the user may make the calls) before anything changes, then run it unless in
check mode. Every call goes through ``koji.ClientSession``.

koji cannot delete a host: the ``absent`` state disables it.
"""

from __future__ import annotations

from ansible_collections.koji_adjutant.builder.plugins.module_utils import hub_session

try:
    import koji
except ImportError:  # pragma: no cover - reported by the module
    koji = None

# The host fields the module manages, in the order they are reported.
EDIT_FIELDS = ("arches", "capacity", "description", "comment")

# ClientSession options: a registration fails after a minute, not after kojid's ten
# (logged-in calls are retried on connection errors; the hub discards repeated calls).
SESSION_OPTIONS = {"max_retries": 3, "retry_interval": 10, "anon_retry": False}


class RegistrationError(Exception):
    """The host cannot be registered as asked; ``fault`` is the koji fault class name."""

    def __init__(self, message, fault="GenericError"):
        super(RegistrationError, self).__init__(message)
        self.fault = fault


class Step(object):
    """One hub call of the plan and the changes it makes (human-readable)."""

    def __init__(self, method, args, kwargs=None, changes=(), perm="host"):
        self.method = method
        self.args = list(args)
        self.kwargs = dict(kwargs or {})
        self.changes = list(changes)
        self.perm = perm

    def run(self, session):
        return getattr(session, self.method)(*self.args, **self.kwargs)

    def __repr__(self):
        return "Step(%s, %r, %r)" % (self.method, self.args, self.kwargs)


# -- wanted and current state ----------------------------------------------------------

def normalize_arches(arches):
    """A list of arch names from a list or a comma/space separated string (None stays None)."""
    if arches is None:
        return None
    if isinstance(arches, (list, tuple)):
        arches = " ".join(str(arch) for arch in arches)
    try:
        names = koji.parse_arches(arches, to_list=True)
    except koji.GenericError as exc:
        raise RegistrationError("invalid arches %r: %s" % (arches, exc), "ParameterError")
    result = []
    for name in names:
        if name not in result:
            result.append(name)
    return result


def wanted_state(params):
    """The host as the module's parameters describe it (None: leave the field alone)."""
    channels = params.get("channels")
    if channels is not None:
        channels = list(dict.fromkeys(c.strip() for c in channels if c and c.strip()))
    capacity = params.get("capacity")
    enabled = params.get("enabled")
    if params.get("state", "present") == "absent":
        if enabled:
            raise RegistrationError("state=absent disables the host; it conflicts with "
                                    "enabled=true", "ParameterError")
        # koji cannot delete a host: absent only disables it, the rest is left alone
        absent = dict((field, None) for field in EDIT_FIELDS + ("channels",))
        absent.update(name=params["name"], enabled=False)
        return absent
    return {
        "name": params["name"],
        "arches": normalize_arches(params.get("arches")),
        "capacity": float(capacity) if capacity is not None else None,
        "description": params.get("description"),
        "comment": params.get("comment"),
        "enabled": enabled,
        "channels": channels,
    }


def read_host(session, name):
    """(getHost map, state) of the host on the hub, or (None, None) when it does not exist."""
    info = session.getHost(name)
    if not info:
        return None, None
    channels = [c["name"] for c in session.listChannels(hostID=info["id"])]
    return info, host_state(info, channels)


def host_state(info, channels):
    """The managed fields of a getHost map (the diff's before/after)."""
    return {
        "name": info["name"],
        "arches": koji.parse_arches(info.get("arches") or "", to_list=True),
        "capacity": float(info["capacity"]) if info.get("capacity") is not None else None,
        "description": info.get("description"),
        "comment": info.get("comment"),
        "enabled": bool(info.get("enabled")),
        "channels": sorted(channels),
    }


def new_host_state(wanted):
    """What a host looks like right after ``addHost``: enabled, in channel 'default'."""
    return {
        "name": wanted["name"],
        "arches": list(wanted["arches"]),
        "capacity": None,  # the hub's default, unknown until it exists
        "description": None,
        "comment": None,
        "enabled": True,
        "channels": ["default"],
    }


# -- the plan ----------------------------------------------------------------------------

def _text(value):
    return "" if value is None else value


def _differs(field, current, wanted):
    if field == "arches":
        return set(current or []) != set(wanted)
    if field == "capacity":
        return current is None or abs(float(current) - wanted) > 1e-9
    # description and comment: koji stores None until set; '' asks for an empty text
    return _text(current) != wanted


def _show(field, value):
    if field == "arches":
        return " ".join(value or []) or "(none)"
    if value is None:
        return "(hub default)" if field == "capacity" else "(none)"
    return repr(value) if isinstance(value, str) else str(value)


def plan_create(wanted, host_principal=None):
    """The ``addHost`` step for a host the hub does not know yet."""
    if not wanted["arches"]:
        raise RegistrationError("host %s does not exist on the hub; arches are needed to "
                                "add it" % wanted["name"], "ParameterError")
    kwargs = {"krb_principal": host_principal} if host_principal else {}
    return Step("addHost", [wanted["name"], list(wanted["arches"])], kwargs,
                ["add host %s (arches: %s)" % (wanted["name"], " ".join(wanted["arches"]))])


def plan_update(current, wanted, channels_exclusive=False):
    """The steps that turn ``current`` (a host_state) into ``wanted``; no hub calls."""
    name = wanted["name"]
    steps = []
    edits = {}
    texts = []
    for field in EDIT_FIELDS:
        value = wanted[field]
        if value is None or not _differs(field, current[field], value):
            continue
        edits[field] = " ".join(value) if field == "arches" else value
        texts.append("%s: %s -> %s" % (field, _show(field, current[field]), _show(field, value)))
    if edits:
        steps.append(Step("editHost", [name], edits, texts))
    if wanted["enabled"] is not None and wanted["enabled"] != current["enabled"]:
        if wanted["enabled"]:
            steps.append(Step("enableHost", [name], changes=["enable host %s" % name]))
        else:
            steps.append(Step("disableHost", [name], changes=["disable host %s" % name]))
    if wanted["channels"] is not None:
        for channel in wanted["channels"]:
            if channel not in current["channels"]:
                steps.append(Step("addHostToChannel", [name, channel],
                                  changes=["add host %s to channel %s" % (name, channel)]))
        if channels_exclusive:
            for channel in current["channels"]:
                if channel not in wanted["channels"]:
                    steps.append(Step("removeHostFromChannel", [name, channel],
                                      changes=["remove host %s from channel %s"
                                               % (name, channel)]))
    return steps


def check_channels(session, steps, create_channels=False):
    """Every channel the host joins must exist and be enabled; with ``create_channels`` a
    missing one is made by ``addHostToChannel(create=True)`` (admin only)."""
    for step in steps:
        if step.method != "addHostToChannel":
            continue
        channel = step.args[1]
        info = session.getChannel(channel)
        if info is None:
            if not create_channels:
                raise RegistrationError(
                    "channel %s does not exist on the hub; create it (koji add-channel) or set "
                    "create_channels" % channel, "GenericError")
            step.kwargs["create"] = True
            step.perm = "admin"
            step.changes = ["create channel %s" % channel] + step.changes
        elif info.get("enabled") is False:
            raise RegistrationError("channel %s is disabled on the hub; enable it first "
                                    "(koji edit-channel --enable)" % channel, "GenericError")


def check_permissions(session, steps):
    """The logged-in user must have the ``host`` permission (``admin`` to create channels)."""
    needed = set(step.perm for step in steps)
    if not needed:
        return
    perms = set(session.getPerms() or [])
    missing = sorted(perm for perm in needed if perm not in perms and "admin" not in perms)
    if missing:
        user = session.getLoggedInUser() or {}
        raise RegistrationError(
            "permission denied: user %s lacks the %s permission needed for %s (it has: %s); "
            "log in as a koji administrator"
            % (user.get("name", "?"), " and ".join(missing),
               "; ".join(text for step in steps for text in step.changes),
               ", ".join(sorted(perms)) or "none"), "ActionNotAllowed")


def predict(current, steps):
    """The host state after ``steps`` (for check mode's diff)."""
    after = dict(current)
    after["channels"] = list(current["channels"])
    for step in steps:
        if step.method == "editHost":
            for field, value in step.kwargs.items():
                after[field] = value.split() if field == "arches" else value
        elif step.method in ("enableHost", "disableHost"):
            after["enabled"] = step.method == "enableHost"
        elif step.method == "addHostToChannel":
            after["channels"].append(step.args[1])
        elif step.method == "removeHostFromChannel":
            after["channels"].remove(step.args[1])
    after["channels"] = sorted(after["channels"])
    return after


def run_steps(session, steps):
    for step in steps:
        try:
            step.run(session)
        except koji.ActionNotAllowed as exc:
            raise RegistrationError("permission denied: %s failed: %s (needs the %s "
                                    "permission or admin)" % (step.method, exc, step.perm),
                                    "ActionNotAllowed")
        except koji.GenericError as exc:
            raise RegistrationError("%s%r failed: %s" % (step.method, tuple(step.args), exc),
                                    type(exc).__name__ if hasattr(koji, type(exc).__name__)
                                    else "GenericError")


# -- the whole registration ------------------------------------------------------------------

def register_host(session, params, check_mode=False):
    """Make the host match ``params``; returns changed, changes, host, channels, diff.

    ``params`` are the module's: name, arches, capacity, description, comment, enabled,
    channels, channels_exclusive, create_channels, host_principal, state.
    """
    wanted = wanted_state(params)
    info, current = read_host(session, wanted["name"])
    steps = []
    if current is None:
        if params.get("state", "present") == "absent":
            return _result(False, [], None, {}, {})
        create = plan_create(wanted, params.get("host_principal"))
        steps.append(create)
        base = new_host_state(wanted)
        before = {}
    else:
        base = current
        before = current
    steps.extend(plan_update(base, wanted, params.get("channels_exclusive", False)))
    check_channels(session, steps, params.get("create_channels", False))
    check_permissions(session, steps)
    changes = [text for step in steps for text in step.changes]

    if check_mode or not steps:
        after = predict(base, steps[1:] if current is None else steps)
        return _result(bool(steps), changes, info, before, after)

    if current is None:
        run_steps(session, [steps[0]])
        # plan the rest against what the hub made (its default capacity, its channels)
        info, base = read_host(session, wanted["name"])
        rest = plan_update(base, wanted, params.get("channels_exclusive", False))
        check_channels(session, rest, params.get("create_channels", False))
        changes = steps[0].changes + [text for step in rest for text in step.changes]
        steps = rest
    run_steps(session, steps)
    info, after = read_host(session, wanted["name"])
    return _result(True, changes, info, before, after)


def _result(changed, changes, info, before, after):
    return {
        "changed": changed,
        "changes": changes,
        "host": info,
        "channels": list(after.get("channels") or []),
        "diff": {"before": before, "after": after},
    }


def open_admin_session(params):
    """Log in to ``params['server']`` with the module's credentials (one login helper:
    :func:`hub_session.open_user_session`)."""
    options = dict(SESSION_OPTIONS)
    if params.get("validate_certs") is False:
        options["no_ssl_verify"] = True
    try:
        return hub_session.open_user_session(
            params["server"], user=params.get("user"), password=params.get("password"),
            cert=params.get("cert"), serverca=params.get("serverca"),
            principal=params.get("principal"), keytab=params.get("keytab"), options=options)
    except hub_session.HubLoginError as exc:
        raise RegistrationError(str(exc), "AuthError")
    except koji.GenericError as exc:
        raise RegistrationError("cannot log in to %s: %s" % (params["server"], exc), "AuthError")
    except Exception as exc:  # requests' connection and TLS errors
        raise RegistrationError("cannot log in to %s: %s: %s"
                                % (params["server"], type(exc).__name__, exc), "AuthError")


def close_session(session):
    if session is not None:
        try:
            session.logout()
        except Exception:  # the work is done; a failed logout only leaves a session to expire
            pass
