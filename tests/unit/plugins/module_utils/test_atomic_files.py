import json
import os
import stat

import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import atomic_files


def test_json_replaces_the_file_whole_with_the_mode_asked(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    atomic_files.write_json(str(path), {"callnum": 7}, mode=0o600)
    assert json.loads(path.read_text()) == {"callnum": 7}
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ["state.json"]


def test_indented_json_ends_with_a_newline(tmp_path):
    path = tmp_path / "stats.json"
    atomic_files.write_json(str(path), {"b": 1, "a": 2}, indent=2, sort_keys=True)
    assert path.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_a_failed_write_keeps_the_old_file_and_leaves_no_debris(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"callnum": 1}')
    with pytest.raises(TypeError):
        atomic_files.write_json(str(path), {"unserializable": object()})
    assert json.loads(path.read_text()) == {"callnum": 1}
    assert os.listdir(str(tmp_path)) == ["state.json"]


def test_an_error_in_the_block_keeps_the_old_file(tmp_path):
    path = tmp_path / "payload"
    path.write_bytes(b"whole")
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_write(str(path), binary=True) as handle:
            handle.write(b"half")
            raise RuntimeError("copy interrupted")
    assert path.read_bytes() == b"whole"
    assert os.listdir(str(tmp_path)) == ["payload"]


def test_a_missing_directory_is_an_error_not_a_file_elsewhere(tmp_path):
    with pytest.raises(OSError):
        atomic_files.write_text(str(tmp_path / "gone" / "note"), "x")
    assert os.listdir(str(tmp_path)) == []
