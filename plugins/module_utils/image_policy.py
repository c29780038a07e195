# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which container image a task runs in: the hub-driven image policy.

The policy lives in the build tag's ``extra`` under ``adjutant_image_policy``
(so it is inherited like any tag extra, and read with ``getBuildConfig``)::

    {"rules": [
      {"type": "tag_arch", "tag": "f41-build", "arch": "x86_64", "image": "…"},
      {"type": "tag", "tag": "el10-*", "image": "…"},
      {"type": "task_type", "task_type": "createrepo", "image": "…"},
      {"type": "default", "image": "…"}
    ]}

Rules are tried by type, most specific first: ``tag_arch``, ``tag``,
``task_type``, ``default``; within a type, in list order.  ``tag`` values are
fnmatch patterns.  No matching rule, the policy disabled, no policy on the tag,
a malformed policy or a hub error: the worker's ``task_image_default``.

Results are cached per (tag, arch, task type) for ``policy_cache_ttl`` seconds in
a JSON file under the worker's ``state_dir``, shared by every task's modules.
"""

from __future__ import annotations

import fnmatch
import json
import os
import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files

try:
    import koji
except ImportError:  # pragma: no cover - reported by the modules
    koji = None

POLICY_KEY = "adjutant_image_policy"
CACHE_FILE = "image-policy-cache.json"
RULE_TYPES = ("tag_arch", "tag", "task_type", "default")
RULE_FIELDS = {
    "tag_arch": ("tag", "arch"),
    "tag": ("tag",),
    "task_type": ("task_type",),
    "default": (),
}


class PolicyError(ValueError):
    """The tag's ``adjutant_image_policy`` is malformed."""


def parse_policy(value):
    """Validate a policy value (a dict with ``rules``, or its JSON text); return the rules.

    :raises PolicyError: naming the rule and field that is wrong.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise PolicyError("not valid JSON: %s" % exc)
    if not isinstance(value, dict) or "rules" not in value:
        raise PolicyError("expected an object with a 'rules' list")
    rules = value["rules"]
    if not isinstance(rules, list):
        raise PolicyError("'rules' must be a list, not %s" % type(rules).__name__)
    checked = []
    for number, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            raise PolicyError("rule %d: expected an object, not %s"
                              % (number, type(rule).__name__))
        rule_type = rule.get("type")
        if rule_type not in RULE_TYPES:
            raise PolicyError("rule %d: type %r is not one of %s"
                              % (number, rule_type, ", ".join(RULE_TYPES)))
        for field in RULE_FIELDS[rule_type] + ("image",):
            if not isinstance(rule.get(field), str) or not rule[field].strip():
                raise PolicyError("rule %d (%s): %r must be a non-empty string"
                                  % (number, rule_type, field))
        unknown = set(rule) - set(RULE_FIELDS[rule_type] + ("type", "image"))
        if unknown:
            raise PolicyError("rule %d (%s): unknown field(s) %s"
                              % (number, rule_type, ", ".join(sorted(unknown))))
        checked.append(dict((key, rule[key].strip() if isinstance(rule[key], str) else rule[key])
                            for key in rule))
    return checked


def _matches(rule, tag, arch, task_type):
    if rule["type"] == "tag_arch":
        return fnmatch.fnmatchcase(tag or "", rule["tag"]) and rule["arch"] == arch
    if rule["type"] == "tag":
        return fnmatch.fnmatchcase(tag or "", rule["tag"])
    if rule["type"] == "task_type":
        return rule["task_type"] == task_type
    return True


def describe_rule(rule):
    fields = " ".join("%s=%s" % (key, rule[key]) for key in RULE_FIELDS[rule["type"]])
    return ("%s %s" % (rule["type"], fields)).strip()


def select_rule(rules, tag, arch, task_type):
    """The most specific rule matching (tag, arch, task type), or None."""
    for rule_type in RULE_TYPES:
        for rule in rules:
            if rule["type"] == rule_type and _matches(rule, tag, arch, task_type):
                return rule
    return None


def choose_image(extra, default_image, tag, arch, task_type):
    """``{image, source, reason}`` for a task, from a tag's (inherited) extra.

    ``source`` is ``policy`` (a rule matched) or ``default`` (the worker's
    ``task_image_default``); ``reason`` says which rule, or why none applied.
    """
    if POLICY_KEY not in (extra or {}):
        return _default(default_image, "tag %s has no %s" % (tag, POLICY_KEY))
    try:
        rules = parse_policy(extra[POLICY_KEY])
    except PolicyError as exc:
        return _default(default_image, "malformed %s on tag %s: %s" % (POLICY_KEY, tag, exc),
                        error=True)
    rule = select_rule(rules, tag, arch, task_type)
    if rule is None:
        return _default(default_image, "no rule of %s on tag %s matches arch %s, task type %s"
                        % (POLICY_KEY, tag, arch, task_type))
    return {"image": rule["image"], "source": "policy", "error": False,
            "reason": "%s rule %s of tag %s" % (POLICY_KEY, describe_rule(rule), tag)}


def _default(default_image, why, error=False):
    return {"image": default_image, "source": "default", "error": error,
            "reason": "%s; using task_image_default" % why}


class PolicyCache(object):
    """Results per (tag, arch, task type), kept ``ttl`` seconds in a JSON file."""

    def __init__(self, path, ttl, clock=time.time):
        self.path = path
        self.ttl = ttl
        self.clock = clock

    @staticmethod
    def key(tag, arch, task_type):
        return "%s|%s|%s" % (tag, arch, task_type)

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (IOError, OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key, allow_stale=False):
        """The cached entry (with its ``age`` in seconds), or None when absent or expired."""
        entry = self._load().get(key)
        if not isinstance(entry, dict) or "stored" not in entry:
            return None
        age = self.clock() - entry["stored"]
        if not allow_stale and (self.ttl <= 0 or age >= self.ttl or age < 0):
            return None
        result = dict(entry["result"])
        result["age"] = age
        return result

    def put(self, key, result):
        if self.ttl <= 0:
            return
        data = self._load()
        now = self.clock()
        # drop entries nobody could use any more, stale or not
        data = dict((k, v) for k, v in data.items()
                    if isinstance(v, dict) and now - v.get("stored", 0) < max(self.ttl, 86400))
        data[key] = {"stored": now, "result": result}
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        atomic_files.write_json(self.path, data, sort_keys=True)


def hub_errors():
    """What counts as "the hub cannot be asked": koji's errors and connection errors."""
    return (koji.GenericError, OSError) if koji is not None else (OSError,)


def resolve_image(session, config, tag, arch, task_type, cache=None, errors=None):
    """The image for a task of ``task_type`` on build tag ``tag`` and ``arch``.

    Returns ``{image, source, reason, cached}``.  ``source`` is ``policy``,
    ``default`` or ``disabled``.  A hub error falls back to a stale cached
    result when there is one (so a short outage does not switch images), else
    to the default; ``reason`` then says so.  ``errors`` lists the exception
    types that count as hub errors (default :func:`hub_errors`).
    """
    default_image = config.task_image_default
    if not config.policy_enabled:
        return {"image": default_image, "source": "disabled", "cached": False, "error": False,
                "reason": "policy_enabled is false; using task_image_default"}
    if not tag:
        return {"image": default_image, "source": "default", "cached": False, "error": False,
                "reason": "the task has no build tag; using task_image_default"}
    if cache is None:
        cache = PolicyCache(os.path.join(config.state_dir, CACHE_FILE), config.policy_cache_ttl)
    key = cache.key(tag, arch, task_type)
    hit = cache.get(key)
    if hit is not None:
        hit.pop("age")
        hit["cached"] = True
        return hit
    try:
        build_config = session.getBuildConfig(tag)
    except tuple(errors or hub_errors()) as exc:
        stale = cache.get(key, allow_stale=True)
        if stale is not None:
            stale.update(cached=True, error=True,
                         reason="cannot read the policy of tag %s (%s); using the result cached "
                                "%d s ago: %s" % (tag, exc, stale.pop("age"), stale["reason"]))
            return stale
        result = _default(default_image, "cannot read the policy of tag %s (%s)" % (tag, exc),
                          error=True)
        result["cached"] = False
        return result
    result = choose_image((build_config or {}).get("extra") or {}, default_image, tag, arch,
                          task_type)
    try:
        cache.put(key, result)
    except (IOError, OSError):
        pass  # a cache that cannot be written only costs a hub call
    result = dict(result)
    result["cached"] = False
    return result
