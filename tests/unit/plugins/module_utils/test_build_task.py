"""The build parent's pure decisions: the arch list and the merge of buildArch results."""

import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import build_task

TAG = {"id": 7, "name": "f-build", "arches": "x86_64 i686 aarch64"}


def header(buildarchs=(), exclusive=(), exclude=()):
    return {"buildarchs": list(buildarchs), "exclusivearch": list(exclusive),
            "excludearch": list(exclude)}


@pytest.mark.parametrize("fields, extra, override, expected", [
    (header(), None, None, ["x86_64", "i686", "aarch64"]),
    # BuildArch: noarch (the whole package)
    (header(buildarchs=["noarch"]), None, None, ["noarch"]),
    (header(exclusive=["x86_64", "aarch64"]), None, None, ["x86_64", "aarch64"]),
    (header(exclude=["i686"]), None, None, ["x86_64", "aarch64"]),
    # ExclusiveArch naming noarch adds it; ExcludeArch noarch keeps it out
    (header(exclusive=["x86_64", "noarch"]), None, None, ["x86_64", "noarch"]),
    (header(buildarchs=["noarch"], exclude=["noarch"]), None, None, None),
    # extra_arches of the package config; arches the tag cannot build are dropped
    (header(), "ppc64le i386", None, ["x86_64", "i686", "aarch64", "i386"]),
    (header(), "s390x", None, ["x86_64", "i686", "aarch64"]),
    (header(), None, "aarch64 s390x", ["aarch64"]),
])
def test_arch_list_is_computed_as_kojid_does(fields, extra, override, expected):
    if expected is None:
        with pytest.raises(koji.BuildError, match="No matching arches were found"):
            build_task.arch_list(TAG, fields, extra, override)
    else:
        assert build_task.arch_list(TAG, fields, extra, override) == expected


def test_a_tag_without_arches_cannot_build():
    with pytest.raises(koji.BuildError, match=r"No arches for tag f-build \[7\]"):
        build_task.arch_list(dict(TAG, arches=None), header())


def test_options_are_checked_before_anything_else():
    with pytest.raises(koji.BuildError, match="arch_override is only allowed for scratch"):
        build_task.check_options({"arch_override": "x86_64"})
    with pytest.raises(koji.BuildError, match="must be serializable to a JSON object"):
        build_task.check_options({"custom_user_metadata": ["a"]})
    build_task.check_options({"arch_override": "x86_64", "scratch": True,
                              "custom_user_metadata": {"a": 1}})


def arch_result(brootid, rpms, srpms=(), logs=("build.log",)):
    return {"brootid": brootid, "rpms": list(rpms), "srpms": list(srpms), "logs": list(logs)}


def test_merge_results_maps_rpms_to_buildroots_and_logs_to_arches():
    results = {"11": arch_result(1, ["a.x86_64.rpm", "a-doc.noarch.rpm"], ["a.src.rpm"],
                                 ["x/build.log"]),
               "12": arch_result(2, ["a.aarch64.rpm"], logs=["y/build.log", "y/root.log"])}
    srpm, rpms, brmap, logs = build_task.merge_results({"x86_64": 11, "aarch64": 12}, results)
    assert srpm == "a.src.rpm"
    assert rpms == ["a.x86_64.rpm", "a-doc.noarch.rpm", "a.aarch64.rpm"]
    assert brmap == {"a.x86_64.rpm": 1, "a-doc.noarch.rpm": 1, "a.src.rpm": 1,
                     "a.aarch64.rpm": 2}
    assert logs == {"x86_64": ["x/build.log"], "aarch64": ["y/build.log", "y/root.log"]}


@pytest.mark.parametrize("srpms, text", [
    ({"11": [], "12": []}, "could not find a built srpm"),
    ({"11": ["a.src.rpm"], "12": ["a.src.rpm"]}, "multiple builds returned a srpm"),
])
def test_exactly_one_child_returns_the_srpm(srpms, text):
    results = dict((key, arch_result(1, [], value)) for key, value in srpms.items())
    with pytest.raises(koji.BuildError, match=text):
        build_task.merge_results({"x86_64": 11, "aarch64": 12}, results)
