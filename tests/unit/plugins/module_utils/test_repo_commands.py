import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import repos


def test_legacy_flags_become_opts_and_cannot_mix_with_opts():
    assert repos.repo_opts({"tag": "t", "src": True, "debuginfo": None}) == {"src": True}
    assert repos.repo_opts({"tag": "t", "opts": {"debuginfo": True}}) == {"debuginfo": True}
    assert repos.repo_opts({"tag": "t"}) is None
    with pytest.raises(koji.ParameterError, match="cannot be combined"):
        repos.repo_opts({"tag": "t", "separate_src": False, "opts": {"src": True}})


def test_merge_command_is_kojids():
    external = [{"url": "http://mirror/$arch/os/", "merge_mode": "koji", "arches": None},
                {"url": "http://other/$arch/", "merge_mode": "koji", "arches": "aarch64"}]
    cmd = repos.merge_command(external, "x86_64", "/mnt/koji/repos/t/3/x86_64",
                              "/builddir/repo", "/mnt/koji/repos/t/3/groups/comps.xml", 3)
    assert cmd == ["mergerepo_c", "--koji", "-b", "/mnt/koji/repos/t/3/x86_64/blocklist",
                   "-a", "x86_64", "-o", "/builddir/repo", "--arch-expand",
                   "-g", "/mnt/koji/repos/t/3/groups/comps.xml",
                   "-r", "file:///builddir/repo_3_premerge/",
                   "-r", "http://mirror/x86_64/os/"]
    bare = repos.merge_command([{"url": "u", "merge_mode": "bare"}], "x86_64", "/r", "/o",
                               None, 1)
    assert bare[:3] == ["mergerepo_c", "--pkgorigins", "--all"] and "-b" not in bare
    with pytest.raises(koji.GenericError, match="multiple merge modes"):
        repos.merge_command([{"url": "a", "merge_mode": "koji"},
                             {"url": "b", "merge_mode": "simple"}], "x86_64", "/r", "/o", None, 1)


def test_empty_repo_marker_and_repodata_listing(tmp_path):
    datadir = tmp_path / "repodata"
    marker = repos.write_empty_repo_marker(str(datadir))
    (datadir / "repomd.xml").write_text("<repomd/>")
    (datadir / "subdir").mkdir()
    assert repos.repodata_files(str(datadir)) == ["EMPTY_REPO", "repomd.xml"]
    assert "no content" in open(marker).read()
