# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that readers only ever see whole: written beside their place, then renamed over it.

The worker's state files (session files with their call numbers, the image policy cache,
the notes of running containers, ``resource_stats.json``, the AnsiballZ cache) are read by
other processes while they are rewritten; a reader must get the old or the new content,
never a partial one, and a failed write must leave the old file and no debris.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, binary=False, mode=None):
    """Open a new file for ``path``; when the block ends without an error it replaces ``path``.

    The file is made in ``path``'s directory (so the rename is atomic), with ``mode`` when
    given (before it becomes visible), else with the usual 0600 of a temporary file.  On an
    error (or an exception in the block) it is removed and ``path`` is left as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path),
                                     suffix=".part")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            yield handle
        if mode is not None:
            os.chmod(temp_path, mode)
        os.replace(temp_path, path)
    except BaseException:
        try:
            os.unlink(temp_path)
        except OSError:
            pass
        raise


def write_json(path, data, mode=None, **dump_options):
    """Write ``data`` as JSON to ``path`` atomically (``dump_options`` go to ``json.dump``)."""
    with atomic_write(path, mode=mode) as handle:
        json.dump(data, handle, **dump_options)
        if dump_options.get("indent") is not None:
            handle.write("\n")


def write_text(path, text, mode=None):
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, mode=mode) as handle:
        handle.write(text)
