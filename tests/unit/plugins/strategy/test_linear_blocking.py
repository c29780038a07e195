"""The linear_blocking strategy: plays run as with linear, without polling for results."""

import os
import subprocess
import sys
import threading
import time


STRATEGY = "koji_adjutant.builder.linear_blocking"
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: A loop
      ansible.builtin.command: "echo item-{{ item }}"
      loop: [1, 2, 3]
      register: looped
      changed_when: false
    - name: A block whose failure is rescued
      block:
        - name: Fail
          ansible.builtin.command: /bin/false
      rescue:
        - name: Rescued
          ansible.builtin.debug:
            msg: "rescued after {{ ansible_failed_task.name }}"
    - name: Wait a while
      ansible.builtin.command: "sleep {{ sleep_seconds | default(0) }}"
      changed_when: false
    - name: The results so far
      ansible.builtin.debug:
        msg: "{{ looped.results | map(attribute='stdout') | join(',') }}"
"""
# a task whose worker process dies (the pipe lookup runs in it: $PPID is the worker)
DYING_WORKER = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Kill this task's worker
      ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.pipe', 'kill -9 $PPID') }}"
    - name: Never reached
      ansible.builtin.debug:
        msg: not reached
"""


def environment(strategy):
    return dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
                ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STRATEGY=strategy,
                ANSIBLE_PYTHON_INTERPRETER=sys.executable)


def start(tmp_path, text, strategy, *args):
    path = tmp_path / "playbook.yml"
    path.write_text(text)
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.Popen([ansible_playbook, "-i", "localhost,", str(path)] + list(args),
                            env=environment(strategy), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def voluntary_switches(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def test_a_play_runs_as_with_linear(tmp_path):
    proc = start(tmp_path, PLAYBOOK, STRATEGY)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output
    assert "rescued after Fail" in output
    assert "item-1,item-2,item-3" in output
    assert "ok=4" in output and "rescued=1" in output and "failed=0" in output


def test_the_playbook_process_sleeps_while_a_task_runs(tmp_path):
    """While a 3 s task runs, linear wakes every millisecond to look for its result;
    linear_blocking wakes when it comes (and every 0.05 s to look at the workers)."""
    wakeups = {}
    for strategy in ("ansible.builtin.linear", STRATEGY):
        proc = start(tmp_path, PLAYBOOK, strategy, "-e", "sleep_seconds=3")
        found = threading.Event()

        def drain(stream=proc.stdout):
            for line in stream:
                if "TASK [Wait a while]" in line:
                    found.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        assert found.wait(60)
        time.sleep(0.5)
        before = voluntary_switches(proc.pid)
        time.sleep(2)
        wakeups[strategy] = voluntary_switches(proc.pid) - before
        assert proc.wait(60) == 0
        reader.join(10)
    # linear: about 2000 in 2 s; linear_blocking: about 40 (20 per second)
    assert wakeups["ansible.builtin.linear"] > 500, wakeups
    assert wakeups[STRATEGY] < 200, wakeups


def test_a_dead_worker_fails_the_play(tmp_path):
    proc = start(tmp_path, DYING_WORKER, STRATEGY)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0, output
    assert "A worker was found in a dead state" in output
    assert "not reached" not in output
