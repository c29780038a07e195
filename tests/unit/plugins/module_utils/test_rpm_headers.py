"""Reading rpm headers with the rpm command, on any Python.

The pipeline runs in the controller's Python, which may have no rpm bindings (Debian ships
them for its system Python only). ``rpms.read_header`` and ``rpms.kojihash`` use
``rpm -qp --queryformat``: they must give what koji's binding-based helpers give
(``koji.get_header_fields``, ``koji.rpmdiff.Rpmdiff(...).kojihash()``, which the hub compares
with other builders' hashes) and work in an interpreter where ``import rpm`` fails."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms

SPEC_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "data")
SPECS = [os.path.join(SPEC_DIR, "rpm-specs", "header-rich.spec"),
         os.path.join(SPEC_DIR, "specs", "noarch-data.spec")]

pytestmark = pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="needs rpmbuild")


@pytest.fixture(scope="module")
def built_rpms(tmp_path_factory):
    """Source and binary rpms of the test specs (every tag kind: epoch, scripts with quotes
    and newlines, rich and versioned dependencies, config, ghost and link files, owners)."""
    topdir = tmp_path_factory.mktemp("rpmbuild")
    for spec in SPECS:
        subprocess.run(["rpmbuild", "-ba", "--nodeps", "--define", "_topdir %s" % topdir, spec],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paths = []
    for root, dummy, files in os.walk(str(topdir)):
        paths.extend(os.path.join(root, name) for name in files if name.endswith(".rpm"))
    assert len(paths) == 4
    return sorted(paths)


def test_headers_and_kojihash_are_kojis(built_rpms):
    koji = pytest.importorskip("koji")
    pytest.importorskip("rpm")
    import koji.rpmdiff

    fields = [field for field, dummy, kind in rpms.HEADER_FIELDS]
    for path in built_rpms:
        assert rpms.read_header(path) == koji.get_header_fields(koji.get_rpm_header(path),
                                                                fields), path
        assert rpms.kojihash(path) == koji.rpmdiff.Rpmdiff(path, path,
                                                           ignore="S5TN").kojihash(), path


def test_rich_header_values(built_rpms):
    srpm = [path for path in built_rpms if path.endswith("header-rich-1.2-4.src.rpm")][0]
    fields = rpms.read_header(srpm)
    assert fields["epoch"] == 3 and fields["sourcepackage"] == 1
    assert fields["exclusivearch"] == ["noarch", "x86_64"] and fields["excludearch"] == ["s390x"]
    assert "(make or ninja)" in fields["requirenevrs"] and "gcc >= 4" in fields["requirenevrs"]
    facts = rpms.inspect_srpm(srpm)
    assert facts["nvr"] == "header-rich-1.2-4" and facts["buildarchs"] == ["noarch"]
    binary = [path for path in built_rpms if path.endswith("header-rich-1.2-4.noarch.rpm")][0]
    data = rpms.rpmdiff_data(binary)
    assert data["tags"][1023] == "echo \"it's pre-install: $1\"\nexit 0"  # %pre, whole
    assert data["tags"][1025] is None  # no %preun
    assert data["files"]["/usr/share/header-rich/run.sh"][9] == "nobody"
    assert ["header-rich-alias", 8, "9.9"] in data["PROVIDES"]


def test_works_without_the_rpm_bindings(built_rpms):
    """The same values in an interpreter where ``import rpm`` fails (as on a controller
    Python the distribution built no bindings for)."""
    script = (
        "import json, sys\n"
        "sys.modules['rpm'] = None\n"
        "from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms\n"
        "paths = sys.argv[1:]\n"
        "print(json.dumps([[rpms.read_header(p), rpms.kojihash(p)] for p in paths]))\n")
    out = subprocess.run([sys.executable, "-c", script] + built_rpms, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert json.loads(out) == [[rpms.read_header(p), rpms.kojihash(p)] for p in built_rpms]


def test_not_an_rpm_is_refused(tmp_path, built_rpms):
    text = tmp_path / "list.src.rpm"
    # a text file naming a real rpm: rpm would read it as a manifest without --nomanifest
    text.write_text(built_rpms[0] + "\n")
    empty = tmp_path / "empty.src.rpm"
    empty.write_bytes(b"")
    for path in (text, empty, tmp_path / "missing.src.rpm"):
        with pytest.raises(rpms.InputError, match="is not a readable rpm file"):
            rpms.read_header(str(path))
