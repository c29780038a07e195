import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import buildroot
from ansible_collections.koji_adjutant.builder.plugins.module_utils import rpms
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_params
from ansible_collections.koji_adjutant.builder.plugins.module_utils import task_result


def test_build_arch_params_decoded_by_koji_signature():
    params = task_params.parse("buildArch", ["work/x.src.rpm", "tag", "x86_64", True,
                                             {"repo_id": 3}])
    assert params == {"pkg": "work/x.src.rpm", "root": "tag", "arch": "x86_64",
                      "keep_srpm": True, "opts": {"repo_id": 3}}


@pytest.mark.parametrize("request_, text", [
    (["x.src.rpm", "tag"], "Invalid signature"),
    ([5, "tag", "x86_64", True], "'pkg'"),
    (["x.src.rpm", "tag", "x86_64", "yes"], "'keep_srpm'"),
    (["x.src.rpm", "tag", "x86_64", True, "opts"], "'opts'"),
    ("not a list", "expected a list"),
])
def test_bad_params_raise_parameter_error(request_, text):
    with pytest.raises(koji.ParameterError) as excinfo:
        task_params.parse("buildArch", request_)
    assert text in str(excinfo.value)


def test_results_and_faults_are_kojid_method_responses():
    ok = task_result.encode_result({"rpms": [], "brootid": 2 ** 40})
    assert ok.startswith("<?xml") and "<i8>" in ok
    assert koji.xmlrpcplus.loads(ok)[0][0]["brootid"] == 2 ** 40
    assert "<nil/>" in task_result.encode_result(None)
    failed = task_result.encode_fault("BuildError", "error building package")
    with pytest.raises(koji.xmlrpcplus.Fault) as excinfo:
        koji.xmlrpcplus.loads(failed)
    assert excinfo.value.faultCode == koji.BuildError.faultCode == 1005
    assert task_result.fault_code("ParameterError") == 1019
    with pytest.raises(ValueError):
        task_result.fault_code("NoSuchError")


class Cfg(object):
    vendor = packager = distribution = "Koji"
    mockhost = "koji-linux-gnu"


def test_macros_kojid_defaults_tag_overrides_and_fixed_values():
    tag = {"extra": {"rpm.macro.dist": ".fc99", "rpm.macro.vendor": "Acme",
                     "rpm.macro._topdir": "/elsewhere", "rpm.env.LANG": "C.UTF-8"}}
    macros = buildroot.rpm_macros(Cfg(), "x86_64", tag)
    assert macros["dist"] == ".fc99" and macros["vendor"] == "Acme"
    assert macros["_topdir"] == "/builddir/build"  # a tag cannot move the topdir
    assert macros["_host"] == "x86_64-koji-linux-gnu" and macros["_host_cpu"] == "x86_64"
    assert macros["_rpmfilename"] == "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm"
    assert buildroot.rpm_env(tag) == {"LANG": "C.UTF-8"}
    assert "%_rpmfilename %%{NAME}" in buildroot.macros_text(macros)


def test_noarch_buildroot_arch_choice():
    assert buildroot.buildroot_arch("noarch", ["x86_64", "aarch64"], ["aarch64"]) == "aarch64"
    assert buildroot.buildroot_arch("noarch", ["x86_64", "aarch64"], ["x86_64", "aarch64"],
                                    preferred="aarch64") == "aarch64"
    assert buildroot.buildroot_arch("i686", [], []) == "i386"
    with pytest.raises(koji.BuildError):
        buildroot.buildroot_arch("noarch", ["ppc64le"], ["x86_64"])


def test_outputs_that_are_symbolic_links_are_refused(tmp_path):
    """A build can leave links in its output dirs; on the host they would name host files."""
    build = tmp_path / "build"
    (build / "RPMS").mkdir(parents=True)
    (build / "RPMS" / "x-1-1.x86_64.rpm").symlink_to("/etc/passwd")
    with pytest.raises(koji.BuildError, match="x-1-1.x86_64.rpm is a symbolic link"):
        rpms.collect_outputs(str(build / "RPMS"), str(build / "SRPMS"), False)
    (build / "RPMS" / "x-1-1.x86_64.rpm").unlink()
    (build / "RPMS").rmdir()
    (build / "RPMS").symlink_to("/etc")
    with pytest.raises(koji.BuildError, match="RPMS is a symbolic link"):
        rpms.collect_outputs(str(build / "RPMS"), str(build / "SRPMS"), False)
    (build / "SRPMS").symlink_to("/usr")
    with pytest.raises(koji.BuildError, match="SRPMS is a symbolic link"):
        rpms.collect_srpm(str(build / "SRPMS"))
