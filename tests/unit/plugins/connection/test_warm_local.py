"""Which commands the warm_local connection sends to the module server."""

import pytest

from ansible_collections.koji_adjutant.builder.plugins.connection import warm_local


@pytest.mark.parametrize("cmd, interpreter", [
    ("/bin/sh -c '/opt/venv/bin/python && sleep 0'", "/opt/venv/bin/python"),
    ("/bin/sh -c '/usr/bin/python3 && sleep 0'", "/usr/bin/python3"),
    # an environment prefix (the environment keyword), a relative interpreter, other commands
    ("/bin/sh -c 'LANG=C /usr/bin/python3 && sleep 0'", None),
    ("/bin/sh -c 'python3 && sleep 0'", None),
    ("/bin/sh -c '/usr/bin/python3 /tmp/x/AnsiballZ_ping.py && sleep 0'", None),
    ("/bin/sh -c 'echo ~ && sleep 0'", None),
    ("/bin/sh -c '( umask 77 && mkdir -p /tmp/a ) && sleep 0'", None),
    ("/bin/sh -c 'unbalanced \"quote && sleep 0'", None),
])
def test_only_a_pipelined_python_module_goes_to_the_server(cmd, interpreter):
    assert warm_local.pipelined_interpreter(cmd) == interpreter
