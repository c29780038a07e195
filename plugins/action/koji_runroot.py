# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the koji_runroot module's code in the controller (see plugins/plugin_utils/module_action.py)."""

from __future__ import annotations

from ansible_collections.koji_adjutant.builder.plugins.modules import koji_runroot
from ansible_collections.koji_adjutant.builder.plugins.plugin_utils.module_action import ModuleAction


class ActionModule(ModuleAction):
    MODULE = koji_runroot
