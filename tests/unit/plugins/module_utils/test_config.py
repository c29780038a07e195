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
    ("[adjutant]\nplaybook_strategy = koji_adjutant.linear_blocking\n",
     "[adjutant] playbook_strategy = 'koji_adjutant.linear_blocking': expected a plugin name"),
    ("[adjutant]\nplaybook_strategy = linear; rm -rf\n", "[adjutant] playbook_strategy"),
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
