"""A kojid.conf for unit tests: the two settings kojid requires, and a loader."""

from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib

BASE = ("[kojid]\nserver = https://hub.example.com/kojihub\n"
        "topurl = https://pkgs.example.com/kojifiles\n")


def load(tmp_path, text, environ=None):
    """The configuration that ``text``, written as ``tmp_path/kojid.conf``, gives."""
    path = tmp_path / "kojid.conf"
    path.write_text(text)
    return config_lib.load_config(str(path), environ=environ or {})
