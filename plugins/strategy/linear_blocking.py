# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's linear strategy, woken by task results instead of polling for them."""

from __future__ import annotations

DOCUMENTATION = r"""
name: linear_blocking
short_description: The linear strategy, waiting for task results without polling
version_added: 0.1.0
author: koji-adjutant contributors (@koji-adjutant)
description:
  - Runs tasks exactly as C(ansible.builtin.linear) does (in lockstep over the hosts of a
    batch, up to the fork limit at a time).
  - While a task runs, C(ansible.builtin.linear) looks for its result every
    C(internal_poll_interval) (1 ms by default), which keeps the C(ansible-playbook) process
    busy beside the task itself; on a worker running two short koji tasks at once on 2 cores
    that was 0.25-0.3 s of CPU per task. This strategy sleeps until the result arrives,
    looking at its task workers every 0.05 s meanwhile (one that died sends no result).
  - The worker daemon runs the task playbooks with it (C(ANSIBLE_STRATEGY)); a play that
    names a strategy keeps its own. With an ansible-core whose strategy internals are not the
    ones this plugin knows, it polls as C(ansible.builtin.linear) does.
"""

from collections import deque

from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible.errors import AnsibleError

# seconds between two looks at the task workers (one that died sends no result)
DEAD_WORKER_CHECK_INTERVAL = 0.05


class _NotifyingDeque(deque):
    """The strategy's result queue: an append (made with the condition's lock held, as the
    results thread does) wakes whoever waits on the condition."""

    def __init__(self, condition, iterable=()):
        super(_NotifyingDeque, self).__init__(iterable)
        self.condition = condition

    def append(self, x):
        super(_NotifyingDeque, self).append(x)
        try:
            self.condition.notify_all()
        except RuntimeError:  # appended without the lock: the waiter's timeout finds it
            pass


class StrategyModule(LinearStrategyModule):

    def __init__(self, tqm):
        super(StrategyModule, self).__init__(tqm)
        self._results_notify = (isinstance(self._results, deque)
                                and hasattr(self._results_lock, "wait"))
        if self._results_notify:
            with self._results_lock:
                self._results = _NotifyingDeque(self._results_lock, self._results)

    def _wait_on_pending_results(self, iterator):
        if not self._results_notify:
            return super(StrategyModule, self)._wait_on_pending_results(iterator)
        results = []
        while self._pending_results > 0 and not self._tqm._terminated:
            if self._tqm.has_dead_workers():
                raise AnsibleError("A worker was found in a dead state")
            results.extend(self._process_pending_results(iterator))
            if self._pending_results > 0:
                with self._results_lock:
                    if not self._results:
                        self._results_lock.wait(DEAD_WORKER_CHECK_INTERVAL)
        return results
