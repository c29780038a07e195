import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib

from kojid_conf import BASE, load


def test_kojid_defaults_apply(tmp_path):
    config = load(tmp_path, BASE)
    assert config.sleeptime == 15 and config.maxjobs == 10 and config.minspace == 8192
    assert config.topdir == "/mnt/koji" and config.workdir == "/var/tmp/koji"
    assert (config.vendor, config.packager, config.distribution) == ("Koji", "Koji", "Koji")
    assert config.rpmbuild_timeout == 86400 and config.use_fast_upload is True
    assert config.image_pull_policy == "if-not-present" and config.policy_cache_ttl == 300
    assert config.container_timeouts == {"pull": 300, "start": 60, "stop_grace": 20}


def test_adjutant_section_and_environment_override(tmp_path):
    config = load(tmp_path, BASE + "[adjutant]\nimage_pull_policy = never\n"
                  "container_mounts = /mnt/koji:/mnt/koji:rw:Z\n",
                  environ={"KOJI_ADJUTANT_POLICY_CACHE_TTL": "60"})
    assert config.image_pull_policy == "never"
    assert config.policy_cache_ttl == 60
    assert config.container_mounts == [{"source": "/mnt/koji", "target": "/mnt/koji",
                                        "mode": "rw", "label": "Z"}]


@pytest.mark.parametrize("extra, message", [
    ("[adjutant]\nimage_pull_policy = sometimes\n", "[adjutant] image_pull_policy"),
    ("[adjutant]\nno_such_key = 1\n", "[adjutant] no_such_key: unknown setting"),
    ("[adjutant]\ncontainer_timeouts = pull=abc\n", "container_timeouts"),
    ("[adjutant]\nmonitoring_bind = nohost\n", "monitoring_bind"),
])
def test_bad_values_name_the_key(tmp_path, extra, message):
    with pytest.raises(config_lib.ConfigError) as excinfo:
        load(tmp_path, BASE + extra)
    assert message in str(excinfo.value)


def test_bad_kojid_value_and_missing_topurl(tmp_path):
    with pytest.raises(config_lib.ConfigError, match=r"\[kojid\] maxjobs"):
        load(tmp_path, BASE + "maxjobs = many\n")
    with pytest.raises(config_lib.ConfigError, match="topurl: required"):
        load(tmp_path, "[kojid]\nserver = http://hub/kojihub\n")


def test_env_override_is_validated(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="KOJI_ADJUTANT_POLICY_ENABLED"):
        load(tmp_path, BASE, environ={"KOJI_ADJUTANT_POLICY_ENABLED": "maybe"})


def test_retired_settings_are_accepted_and_listed(tmp_path):
    """module_server, playbook_server and playbook_strategy no longer do anything: a
    kojid.conf (or the environment) that still sets them loads, and the daemon names them in
    a warning at start-up (config.ignored_settings)."""
    config = load(tmp_path, BASE + "[adjutant]\nmodule_server = false\n"
                  "playbook_strategy = koji_adjutant.builder.linear_blocking\n",
                  environ={"KOJI_ADJUTANT_PLAYBOOK_SERVER": "true"})
    assert config.ignored_settings == ["module_server", "playbook_strategy", "playbook_server"]
    assert not hasattr(config, "module_server")
    assert load(tmp_path, BASE).ignored_settings == []
