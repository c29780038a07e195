"""Hub policies: koji's stock policy set, evaluated with koji's own rule engine.

A kojihub without a ``[policy]`` section in hub.conf runs a fixed set of
default policies, and a policy it does not have at all is allowed
(``MissingPolicyOk``, on by default) with the reason "missing policy".  The
dev hub has no policy configuration: it always runs that default set.  The
rules are parsed and applied by ``koji.policy.SimpleRuleSet`` (the python-koji
library), with the few hub-side tests the default rules need implemented
here against the dev hub's data.

Results follow kojihub's ``check_policy``/``assert_policy``/``eval_policy``:
``check`` answers ``(allowed, reason)``, ``assert_policy`` raises
``ActionNotAllowed`` "policy violation (<name>): <reason>", ``evaluate``
answers the raw action text (``GenericError`` "no such policy" for a policy
that is not defined).
"""

import koji
import koji.policy
import koji.util

from . import builds
from . import context
from . import users

# The rules of a stock hub (kojihub's defaults when hub.conf has no [policy]).
# The deny reasons are part of the error messages clients see.
DEFAULT_POLICIES = {
    'build_rpm': ['all :: allow'],
    'build_from_srpm': ['has_perm admin :: allow',
                        'all :: deny Only admin can do this via default policy'],
    'build_from_repo_id': ['has_perm admin :: allow',
                           'all :: deny Only admin can do this via default policy'],
    'build_from_scm': ['has_perm admin :: allow',
                       'all :: deny Only admin can do this via default policy'],
    'package_list': ['has_perm admin :: allow',
                     'has_perm tag :: allow',
                     'all :: deny Only admin/tag can do this via default policy'],
    'channel': ['has req_channel :: req',
                'is_child_task :: parent',
                'all :: use default'],
    'vm': ['has_perm admin win-admin :: allow',
           'all :: deny Only admin/win-admin can do this via default policy'],
    'cg_import': ['all :: allow'],
    'volume': ['all :: DEFAULT'],
    'priority': ['all :: stay'],
    'draft_promotion': ['has_perm draft-promoter :: allow',
                        'is_build_owner :: allow',
                        'all :: deny Only draft-promoter and build owner can do this via '
                        'default policy'],
}


def _hub():
    return context.current().hub


def policy_user(data):
    """The user a policy decides for: data's user_id, else the caller (or None)."""
    hub = _hub()
    if 'user_id' in data:
        return users.get_user(hub, data['user_id'])
    sess = context.session()
    if sess is not None and sess.logged_in:
        return users.get_user(hub, sess.user_id)
    return None


class HasPermTest(koji.policy.BaseSimpleTest):
    """has_perm PATTERN...: the user has a permission matching a pattern."""
    name = 'has_perm'

    def run(self, data):
        user = policy_user(data)
        if not user:
            return False
        patterns = self.str.split()[1:]
        perms = users.get_user_perms(_hub(), user['id'])
        return any(koji.util.multi_fnmatch(perm, patterns) for perm in perms)


class ChildTaskTest(koji.policy.BoolTest):
    """is_child_task: the task being created has a parent."""
    name = 'is_child_task'
    field = 'parent'


class IsBuildOwnerTest(koji.policy.BaseSimpleTest):
    """is_build_owner: the user owns data['build']."""
    name = 'is_build_owner'

    def run(self, data):
        build = builds.get_build(_hub(), data['build'])
        user = policy_user(data)
        return bool(build and user and build['owner_id'] == user['id'])


def _tests():
    found = koji.policy.findSimpleTests([vars(koji.policy)])
    for test in (HasPermTest, ChildTaskTest, IsBuildOwnerTest):
        found[test.name] = test
    return found


def get_ruleset(name):
    """The parsed rules of a policy, or None when the hub has no such policy.

    A new rule set each time: applying one keeps state (its last rule) in it.
    """
    if name not in DEFAULT_POLICIES:
        return None
    return koji.policy.SimpleRuleSet(DEFAULT_POLICIES[name], _tests())


def check(name, data, default='deny', strict=False, force=False):
    """(allowed, reason) as kojihub's check_policy; strict raises ActionNotAllowed."""
    if not isinstance(data, dict):
        raise koji.ParameterError('Invalid type for policy data: %s' % type(data))
    ruleset = get_ruleset(name)
    if ruleset is None:
        # MissingPolicyOk (kojihub's default): allowed
        result, reason = 'allow', 'missing policy'
    else:
        action = ruleset.apply(data)
        if action is None:
            result, reason = default, 'not covered by policy'
        else:
            parts = action.split(None, 1) + ['', '']
            result, reason = parts[0].lower(), parts[1]
    if result == 'allow':
        return True, reason
    if result != 'deny':
        reason = 'error in policy'
    if force:
        user = policy_user(data)
        if user and 'admin' in users.get_user_perms(_hub(), user['id']):
            return True, 'overriden by force'
    if not strict:
        return False, reason
    message = 'policy violation (%s)' % name
    if reason:
        message += ': %s' % reason
    raise koji.ActionNotAllowed(message)


def assert_policy(name, data, default='deny', force=False):
    check(name, data, default=default, strict=True, force=force)


def evaluate(name, data):
    """The action text of a policy for data (None when no rule matches)."""
    if not isinstance(data, dict):
        raise koji.ParameterError('Invalid type for policy data: %s' % type(data))
    ruleset = get_ruleset(name)
    if ruleset is None:
        raise koji.GenericError('no such policy: %s' % name)
    return ruleset.apply(data)
