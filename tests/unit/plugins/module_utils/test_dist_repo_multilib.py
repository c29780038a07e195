"""The parts of the multilib step that need no hub: what is missing is named."""

import sys

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import distrepos


@pytest.mark.parametrize("module, names", [
    ("multilib", ["python-multilib", "koji-adjutant[multilib]", "worker_multilib"]),
    ("dnf", ["python3-dnf"]),
])
def test_missing_library_names_what_to_install(monkeypatch, module, names):
    # a None entry in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(koji.GenericError) as info:
        distrepos.multilib_libraries()
    for name in names:
        assert name in str(info.value)


def test_multilib_arches_are_kojis_without_the_rpm_bindings():
    # koji.arch (which needs the rpm bindings) says the same for the canonical arches
    assert [a for a in ("x86_64", "i386", "ppc64", "ppc64le", "s390x", "aarch64", "sparc64",
                        "src", "noarch") if distrepos.is_multilib_arch(a)] == \
        ["x86_64", "ppc64", "s390x", "sparc64"]


def test_a_multilib_arch_without_a_known_partner_is_named(tmp_path):
    with pytest.raises(koji.GenericError, match="no 32-bit partner arch is known for the "
                       "multilib arch sparc64"):
        distrepos.add_multilib(None, str(tmp_path), "sparc64", "conf", {}, str(tmp_path),
                               str(tmp_path))


def test_partner_file_keeps_noarch():
    rpm = {"name": "foo-devel", "version": "1", "release": "2.x86_64", "arch": "x86_64"}
    # only the arch field changes (not an x86_64 inside the release)
    assert distrepos.partner_file(rpm, "i686") == "foo-devel-1-2.x86_64.i686.rpm"
    assert distrepos.partner_file(dict(rpm, arch="noarch"), "i686") == \
        "foo-devel-1-2.x86_64.noarch.rpm"


def test_config_errors_are_named(tmp_path):
    mlib = distrepos.multilib_library()
    with pytest.raises(koji.GenericError, match="multilib config missing: /nonexistent"):
        distrepos.multilib_method(mlib, "/nonexistent/multilib.conf")
    conf = tmp_path / "ml.conf"
    conf.write_text("[runtime]\nwhite =\nblack =\n")
    with pytest.raises(koji.GenericError, match="invalid multilib config .*No section: 'devel'"):
        distrepos.multilib_method(mlib, str(conf))
    conf.write_text("[runtime]\nwhite =\nblack =\n[devel]\nwhite = foo-devel\nblack =\n")
    assert distrepos.multilib_method(mlib, str(conf)).name == "devel"


def test_config_is_read_where_configparser_has_no_readfp(tmp_path, monkeypatch):
    """Python 3.12 removed ConfigParser.readfp, which python-multilib 1.3 calls."""
    mlib = distrepos.multilib_library()
    monkeypatch.delattr(mlib.configparser.RawConfigParser, "readfp", raising=False)
    conf = tmp_path / "ml.conf"
    conf.write_text("[runtime]\nwhite =\nblack =\n[devel]\nwhite = foo-devel\nblack = bar-devel\n")
    method = distrepos.multilib_method(mlib, str(conf))
    assert (method.name, method.devel_whitelist, method.devel_blacklist) == \
        ("devel", "foo-devel", "bar-devel")
    conf.write_text("[runtime]\nwhite =\nblack =\n")
    with pytest.raises(koji.GenericError, match="invalid multilib config .*No section: 'devel'"):
        distrepos.multilib_method(mlib, str(conf))
