# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Descriptions of the module attributes; each module states its support."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Whether the module can run in check mode, reporting what it would change without changing it.
  diff_mode:
    description: Whether the module reports a diff of what it changed.
"""
