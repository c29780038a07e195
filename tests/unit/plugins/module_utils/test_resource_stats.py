import json
import os
import stat

from ansible_collections.koji_adjutant.builder.plugins.module_utils import containers
from ansible_collections.koji_adjutant.builder.plugins.module_utils import resource_stats as rs

V1_PROC = """12:pids:/libpod_parent/libpod-abc
4:memory:/libpod_parent/libpod-abc
2:cpuacct:/libpod_parent/libpod-abc
1:cpu,cpuacct:/libpod_parent/libpod-abc
0::/libpod_parent/libpod-abc
"""
V2_PROC = "0::/machine.slice/libpod-abc.scope\n"


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as handle:
        handle.write(text)


def test_proc_cgroup_lines_name_each_controller():
    groups = rs.parse_proc_cgroup(V1_PROC)
    assert groups["memory"] == groups["cpuacct"] == groups["cpu"] == "/libpod_parent/libpod-abc"
    assert groups[""] == "/libpod_parent/libpod-abc"
    assert rs.parse_proc_cgroup("garbage\n") == {}


def test_counters_of_cgroup_v1_and_v2_and_missing_ones():
    v1 = rs.counters(1, {"cpuacct.usage": "2500000000\n",
                         "memory.max_usage_in_bytes": "104857600\n",
                         "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"})
    assert v1 == {"cpu_ns": 2500000000, "memory_peak": 104857600, "oom_kills": 2}
    v2 = rs.counters(2, {"cpu.stat": "usage_usec 1500000\nuser_usec 1000000\n",
                         "memory.peak": "52428800\n",
                         "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"})
    assert v2 == {"cpu_ns": 1500000000, "memory_peak": 52428800, "oom_kills": 1}
    # an older kernel without oom_kill in memory.oom_control, or a file that is not there
    assert rs.counters(1, {"memory.oom_control": "oom_kill_disable 0\n"}) == {
        "cpu_ns": None, "memory_peak": None, "oom_kills": None}
    assert rs.counters(None, {}) == {"cpu_ns": None, "memory_peak": None, "oom_kills": None}
    assert rs.counters(2, {"memory.peak": "max\n"})["memory_peak"] is None


def test_output_of_the_inside_script_is_split_by_file():
    version, files = rs.parse_inside_output(
        "== version 1\n== cpuacct.usage\n42\n== memory.oom_control\noom_kill 0\nunder_oom 0\n")
    assert version == 1
    assert files == {"cpuacct.usage": "42\n", "memory.oom_control": "oom_kill 0\nunder_oom 0\n"}
    assert rs.parse_inside_output("") == (None, {})
    assert rs.parse_inside_output(None) == (None, {})


def test_host_files_on_cgroup_v1_and_v2(tmp_path):
    version, paths = rs.host_cgroup_files(V1_PROC, str(tmp_path))
    assert version == 1
    assert paths["memory.max_usage_in_bytes"] == str(
        tmp_path / "memory/libpod_parent/libpod-abc/memory.max_usage_in_bytes")
    assert paths["cpuacct.usage"] == str(
        tmp_path / "cpuacct/libpod_parent/libpod-abc/cpuacct.usage")
    write(tmp_path / "cgroup.controllers", "cpu memory pids\n")
    version, paths = rs.host_cgroup_files(V2_PROC, str(tmp_path))
    assert version == 2
    assert paths["memory.peak"] == str(tmp_path / "machine.slice/libpod-abc.scope/memory.peak")
    assert rs.host_cgroup_files("4:memory:/x\n", str(tmp_path)) == (None, {})


def fake_run(pid=None, inside=None, calls=None):
    def run(argv, timeout=30):
        if calls is not None:
            calls.append(argv)
        if argv[:3] == ["podman", "container", "inspect"]:
            return "%s\n" % pid if pid else None
        if argv[:2] == ["podman", "exec"]:
            return inside
        return None
    return run


def test_meter_reads_the_host_cgroup_and_resets_the_v1_peak(tmp_path, monkeypatch):
    write(tmp_path / "proc/321/cgroup", V1_PROC)
    memory = tmp_path / "cg/memory/libpod_parent/libpod-abc"
    cpu = tmp_path / "cg/cpuacct/libpod_parent/libpod-abc"
    write(memory / "memory.max_usage_in_bytes", "900000000\n")
    write(memory / "memory.oom_control", "oom_kill_disable 0\noom_kill 0\n")
    write(cpu / "cpuacct.usage", "1000000000\n")
    calls = []
    monkeypatch.setattr(rs, "_run", fake_run(pid=321, calls=calls))
    meter = rs.StepMeter("koji-task-1-w", cgroup_root=str(tmp_path / "cg"),
                         proc_root=str(tmp_path / "proc")).start()
    # the high-water mark was reset for this step
    assert (memory / "memory.max_usage_in_bytes").read_text() == "0"
    # the step runs
    write(memory / "memory.max_usage_in_bytes", "200000000\n")
    write(memory / "memory.oom_control", "oom_kill_disable 0\noom_kill 1\n")
    write(cpu / "cpuacct.usage", "3500000000\n")
    usage = meter.stop()
    assert usage == {"cpu_seconds": 2.5, "peak_memory_bytes": 200000000,
                     "peak_memory_scope": "step", "oom_killed": True, "cgroup_version": 1,
                     "source": "host"}
    # a second stop (the timeout path reads before the kill) keeps the first reading
    write(cpu / "cpuacct.usage", "9900000000\n")
    assert meter.stop()["cpu_seconds"] == 2.5
    # everything was read from the host: no podman exec
    assert not [argv for argv in calls if argv[:2] == ["podman", "exec"]]


def test_meter_falls_back_to_reading_inside_the_container(tmp_path, monkeypatch):
    outputs = iter([
        "== version 2\n== cpu.stat\nusage_usec 1000\n== memory.peak\n1000\n"
        "== memory.events\noom_kill 0\n",
        "== version 2\n== cpu.stat\nusage_usec 501000\n== memory.peak\n7000000\n"
        "== memory.events\noom_kill 0\n",
    ])

    def run(argv, timeout=30):
        if argv[:2] == ["podman", "exec"]:
            assert argv[-1] == rs.INSIDE_SCRIPT
            return next(outputs)
        return None  # no pid from podman inspect: the host side is not used

    monkeypatch.setattr(rs, "_run", run)
    meter = rs.StepMeter("c", cgroup_root=str(tmp_path), proc_root=str(tmp_path)).start()
    usage = meter.stop()
    assert usage == {"cpu_seconds": 0.5, "peak_memory_bytes": 7000000,
                     "peak_memory_scope": "container", "oom_killed": False,
                     "cgroup_version": 2, "source": "container"}


def test_meter_without_any_counters_gives_nulls(tmp_path, monkeypatch):
    monkeypatch.setattr(rs, "_run", fake_run())
    usage = rs.StepMeter("c", cgroup_root=str(tmp_path), proc_root=str(tmp_path)).start().stop()
    assert usage == {"cpu_seconds": None, "peak_memory_bytes": None, "peak_memory_scope": None,
                     "oom_killed": None, "cgroup_version": None, "source": None}


def test_meter_never_raises(monkeypatch):
    def broken(argv, timeout=30):
        raise RuntimeError("podman exploded")

    monkeypatch.setattr(rs, "_run", broken)
    usage = rs.StepMeter("c").start().stop()
    assert usage["cpu_seconds"] is None and usage["oom_killed"] is None


def test_records_accumulate_in_resource_stats_json(tmp_path):
    usage = {"cpu_seconds": 1.0, "peak_memory_bytes": 10, "peak_memory_scope": "step",
             "oom_killed": False, "cgroup_version": 1, "source": "host"}
    image = {"name": "localhost/img:1", "id": "abc", "digest": "sha256:1"}
    first = rs.step_record("buildroot setup", "root.log", 0, 1.23456, 0, False, usage)
    path = rs.append_step(str(tmp_path), 7, "koji-task-7-w", first, image=image)
    second = rs.step_record("rpmbuild", "build.log", 60, 30.0, 137, True, usage)
    rs.append_step(str(tmp_path), 7, "koji-task-7-w", second)
    with open(path) as handle:
        data = json.load(handle)
    assert path == str(tmp_path / "resource_stats.json")
    assert data["task_id"] == 7 and data["container"] == "koji-task-7-w"
    assert data["images"] == [image]
    assert [s["step"] for s in data["steps"]] == ["buildroot setup", "rpmbuild"]
    assert data["steps"][0]["wall_seconds"] == 1.235
    assert data["steps"][0]["started"] == "1970-01-01T00:00:00Z"
    assert data["steps"][1]["timed_out"] is True and data["steps"][1]["exit_code"] == 137
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".tmp")]


def test_a_damaged_resource_stats_json_is_started_again(tmp_path):
    write(tmp_path / "resource_stats.json", "{not json")
    record = rs.step_record("s", "build.log", 0, 1, 0, False, {})
    rs.append_step(str(tmp_path), 1, "c", record)
    with open(str(tmp_path / "resource_stats.json")) as handle:
        assert [s["step"] for s in json.load(handle)["steps"]] == ["s"]


def test_failure_messages_name_the_timeout_and_out_of_memory():
    template = "error building package, rpmbuild exited with status {rc}; see {log}"
    assert containers.step_failure_message(template, 1, "rpmbuild", "build.log") == \
        "error building package, rpmbuild exited with status 1; see build.log"
    assert containers.step_failure_message(template, -9, "rpmbuild", "build.log", timeout=5,
                                           timed_out=True).endswith(
        "(killed after the 5 s timeout)")
    message = containers.step_failure_message(template, 1, "rpmbuild", "build.log",
                                              oom_killed=True, memory_limit="256m")
    assert message.endswith("(out of memory: a process was killed at the container's "
                            "memory limit of 256m)")
    assert "out of memory" in containers.step_failure_message(
        "{step} failed", 137, "dnf", "root.log", oom_killed=True)


def test_step_timeout_reads_the_counters_before_the_container_is_killed(tmp_path, monkeypatch):
    # a fake podman: `exec` hangs, `kill` is recorded
    record = tmp_path / "calls"
    fake = tmp_path / "bin" / "podman"
    write(fake, '#!/bin/sh\necho "podman $1" >> %s\n[ "$1" = exec ] && exec sleep 30\n'
          'exit 0\n' % record)
    os.chmod(str(fake), stat.S_IRWXU)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path / "bin", os.environ["PATH"]))

    def before_kill():
        with open(str(record), "a") as handle:
            handle.write("counters read\n")

    log = tmp_path / "build.log"
    rc, timed_out, seconds = containers.exec_step("c", ["true"], str(log), timeout=0.5,
                                                  header="=== step ===\n",
                                                  before_kill=before_kill)
    assert timed_out and seconds < 20 and rc != 0
    assert record.read_text().splitlines() == ["podman exec", "counters read", "podman kill"]
    assert "killed after 0.5 seconds (timeout)" in log.read_text()
