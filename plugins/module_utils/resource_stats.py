# -*- coding: utf-8 -*-
# Copyright: koji-adjutant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each build step of a task used: ``resource_stats.json`` in the task's log directory.

Every step runs with ``podman exec`` in the task container, so the container's cgroup accounts
for it.  Around each step the container's counters are read (CPU time, peak memory, OOM kills):

- from the host, through the cgroup of the container's first process (``/proc/<pid>/cgroup``
  mapped under ``/sys/fs/cgroup``), where that is visible and readable; on cgroup v1 the
  memory high-water mark is reset there at the start of the step, so the peak is the step's own;
- else from inside the container (``podman exec cat``), which works with and without
  ``--cgroupns private``; the peak memory is then the container's since it started.

cgroup v1: ``cpuacct.usage``, ``memory.max_usage_in_bytes``, ``memory.oom_control``;
cgroup v2: ``cpu.stat`` (usage_usec), ``memory.peak``, ``memory.events``.  Whatever cannot be
read is recorded as null; reading the counters never fails a step.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.koji_adjutant.builder.plugins.module_utils import (
    atomic_files, containers)

STATS_FILE = "resource_stats.json"
CGROUP_ROOT = "/sys/fs/cgroup"

# counter files by cgroup version, as (controller directory on v1, file)
V1_FILES = (("cpuacct", "cpuacct.usage"), ("memory", "memory.max_usage_in_bytes"),
            ("memory", "memory.oom_control"))
V2_FILES = ("cpu.stat", "memory.peak", "memory.events")

# read the counters from inside the container: prints "== <file>" and the file's text
INSIDE_SCRIPT = r"""
cd /sys/fs/cgroup 2>/dev/null || exit 0
if [ -f cgroup.controllers ]; then
  echo "== version 2"
  p=$(sed -n 's/^0:://p' /proc/self/cgroup)
  if [ -n "$p" ] && [ -d ".$p" ]; then cd ".$p"; fi
  for f in cpu.stat memory.peak memory.events; do
    if [ -r "$f" ]; then echo "== $f"; cat "$f"; fi
  done
else
  echo "== version 1"
  for f in cpuacct/cpuacct.usage memory/memory.max_usage_in_bytes memory/memory.oom_control; do
    if [ -r "$f" ]; then echo "== ${f#*/}"; cat "$f"; fi
  done
fi
"""


def _run(argv, timeout=30):
    """The output of a podman command (``argv``, ``podman`` first, run by
    ``containers.podman``); None when it failed."""
    try:
        proc = containers.podman(argv[1:], check=False, timeout=timeout)
    except (containers.ContainerError, OSError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def parse_proc_cgroup(text):
    """``/proc/<pid>/cgroup`` → {controller: path}; cgroup v2's entry is under ``""``."""
    result = {}
    for line in text.splitlines():
        fields = line.strip().split(":", 2)
        if len(fields) != 3:
            continue
        for controller in fields[1].split(","):
            result[controller] = fields[2]
    return result


def parse_keyed(text):
    """``key value`` lines (cpu.stat, memory.events, memory.oom_control) → {key: int}."""
    result = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) == 2:
            try:
                result[fields[0]] = int(fields[1])
            except ValueError:
                pass
    return result


def _int(text):
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def counters(version, files):
    """The counters from the texts of the cgroup files ({file name: text}).

    Returns {"cpu_ns", "memory_peak", "oom_kills"} with None for what is missing.
    """
    if version == 2:
        usage = parse_keyed(files.get("cpu.stat")).get("usage_usec")
        return {"cpu_ns": usage * 1000 if usage is not None else None,
                "memory_peak": _int(files.get("memory.peak")),
                "oom_kills": parse_keyed(files.get("memory.events")).get("oom_kill")}
    if version == 1:
        return {"cpu_ns": _int(files.get("cpuacct.usage")),
                "memory_peak": _int(files.get("memory.max_usage_in_bytes")),
                "oom_kills": parse_keyed(files.get("memory.oom_control")).get("oom_kill")}
    return {"cpu_ns": None, "memory_peak": None, "oom_kills": None}


def parse_inside_output(text):
    """The output of INSIDE_SCRIPT → (version, {file name: text})."""
    version = None
    files = {}
    current = None
    for line in (text or "").splitlines():
        if line.startswith("== version "):
            version = _int(line[len("== version "):])
            current = None
        elif line.startswith("== "):
            current = line[3:].strip()
            files[current] = ""
        elif current is not None:
            files[current] += line + "\n"
    return version, files


def host_cgroup_files(proc_cgroup_text, root=CGROUP_ROOT):
    """Host paths of the counter files for a process's cgroups → (version, {name: path}).

    (None, {}) when the cgroup file system is not laid out as expected.
    """
    groups = parse_proc_cgroup(proc_cgroup_text)
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        if "" not in groups:
            return None, {}
        base = os.path.join(root, groups[""].lstrip("/"))
        return 2, {name: os.path.join(base, name) for name in V2_FILES}
    paths = {}
    for controller, name in V1_FILES:
        if controller in groups:
            paths[name] = os.path.join(root, controller, groups[controller].lstrip("/"), name)
    return (1, paths) if paths else (None, {})


class StepMeter(object):
    """Counts what one step uses in a running container: ``start()``, the step, ``stop()``."""

    def __init__(self, container, cgroup_root=CGROUP_ROOT, proc_root="/proc", pid=None):
        self.container = container
        self.pid = pid  # the container's main process, when the caller knows it
        self.cgroup_root = cgroup_root
        self.proc_root = proc_root
        self.version = None
        self.host_paths = {}
        self.source = None
        self.peak_scope = None
        self.before = None
        self.after = None
        self.started = None

    def _host_setup(self):
        pid = self.pid or _int(_run(["podman", "container", "inspect", "--format",
                                     "{{.State.Pid}}", self.container]))
        if not pid:
            return
        try:
            with open(os.path.join(self.proc_root, str(pid), "cgroup")) as handle:
                text = handle.read()
        except OSError:
            return
        version, paths = host_cgroup_files(text, self.cgroup_root)
        readable = {name: path for name, path in paths.items() if os.access(path, os.R_OK)}
        if readable:
            self.version, self.host_paths = version, readable

    def _read(self):
        if self.host_paths:
            files = {}
            for name, path in self.host_paths.items():
                try:
                    with open(path) as handle:
                        files[name] = handle.read()
                except OSError:
                    pass
            if files:
                return counters(self.version, files)
        out = _run(["podman", "exec", "--user", "root", self.container,
                    "/bin/sh", "-c", INSIDE_SCRIPT])
        version, files = parse_inside_output(out)
        if version and files:
            self.version = self.version or version
            self.source = self.source or "container"
        return counters(version, files)

    def _reset_peak(self):
        """cgroup v1 lets root reset the memory high-water mark: the peak is then the step's."""
        path = self.host_paths.get("memory.max_usage_in_bytes")
        if self.version != 1 or not path:
            return False
        try:
            with open(path, "w") as handle:
                handle.write("0")
        except OSError:
            return False
        return True

    def start(self, since_creation=False):
        """Read the counters before the step; ``since_creation``: the step is the start of
        the container (its counters begin at zero, its peak is the step's)."""
        self.started = time.time()
        try:
            self._host_setup()
            if self.host_paths:
                self.source = "host"
            if since_creation:
                step_peak = True
                self.before = {"cpu_ns": 0, "memory_peak": None, "oom_kills": 0}
            else:
                step_peak = self._reset_peak()
                self.before = self._read()
        except Exception:  # pylint: disable=broad-except
            # the counters are informational: never let them break a step
            self.before = counters(None, {})
            step_peak = False
        self.peak_scope = "step" if step_peak else "container"
        return self

    def stop(self):
        """Read the counters after the step (once: a later call returns the same)."""
        if self.after is None:
            try:
                self.after = self._read()
            except Exception:  # pylint: disable=broad-except
                self.after = counters(None, {})
        return self.usage()

    def usage(self):
        before = self.before or counters(None, {})
        after = self.after or counters(None, {})
        cpu = None
        if before["cpu_ns"] is not None and after["cpu_ns"] is not None:
            cpu = round(max(0, after["cpu_ns"] - before["cpu_ns"]) / 1e9, 3)
        oom = None
        if before["oom_kills"] is not None and after["oom_kills"] is not None:
            oom = after["oom_kills"] > before["oom_kills"]
        peak = after["memory_peak"]
        return {"cpu_seconds": cpu, "peak_memory_bytes": peak,
                "peak_memory_scope": self.peak_scope if peak is not None else None,
                "oom_killed": oom, "cgroup_version": self.version, "source": self.source}


def container_oom_killed(container):
    """podman's own flag (the container's main process was OOM-killed), or None."""
    out = _run(["podman", "container", "inspect", "--format", "{{.State.OOMKilled}}",
                container])
    if out is None:
        return None
    return out.strip() == "true"


def step_record(step, log_name, started, seconds, rc, timed_out, usage):
    """One step's entry of resource_stats.json."""
    record = {"step": step, "log": log_name,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
              "wall_seconds": round(seconds, 3), "exit_code": rc, "timed_out": bool(timed_out)}
    record.update(usage)
    return record


def append_step(log_dir, task_id, container, record, image=None):
    """Add a step's record to ``<log_dir>/resource_stats.json`` (made on the first step).

    Returns the file's path.  The file is replaced atomically, so an upload never sees half
    of it.
    """
    path = os.path.join(log_dir, STATS_FILE)
    data = None
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        data = {"task_id": task_id, "container": container, "images": [], "steps": []}
    if image and image not in data.setdefault("images", []):
        data["images"].append(image)
    data["steps"].append(record)
    atomic_files.write_json(path, data, mode=0o644, indent=2, sort_keys=True)
    return path
