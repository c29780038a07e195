import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import image_policy

DEFAULT = "localhost/default:1"
POLICY = {"rules": [
    {"type": "default", "image": "reg/any:1"},
    {"type": "task_type", "task_type": "createrepo", "image": "reg/createrepo:1"},
    {"type": "tag", "tag": "el10-*", "image": "reg/el10:1"},
    {"type": "tag_arch", "tag": "f41-build", "arch": "aarch64", "image": "reg/f41-arm:1"},
    {"type": "tag", "tag": "f41-build", "image": "reg/f41:1"},
]}


class Config(object):
    task_image_default = DEFAULT
    policy_enabled = True
    policy_cache_ttl = 300
    state_dir = None


class Hub(object):
    """Counts getBuildConfig calls; raises ``error`` when set."""

    def __init__(self, extra):
        self.extra = extra
        self.calls = 0
        self.error = None

    def getBuildConfig(self, tag):  # pylint: disable=invalid-name
        self.calls += 1
        if self.error:
            raise self.error
        return {"name": tag, "extra": self.extra}


@pytest.mark.parametrize("tag, arch, task_type, image", [
    ("f41-build", "aarch64", "buildArch", "reg/f41-arm:1"),     # tag+arch beats tag
    ("f41-build", "x86_64", "buildArch", "reg/f41:1"),          # tag
    ("el10-build", "x86_64", "createrepo", "reg/el10:1"),       # tag (glob) beats task type
    ("f40-build", "x86_64", "createrepo", "reg/createrepo:1"),  # task type beats default
    ("f40-build", "x86_64", "buildArch", "reg/any:1"),          # default rule
])
def test_most_specific_rule_wins_whatever_its_position(tag, arch, task_type, image):
    result = image_policy.choose_image({"adjutant_image_policy": POLICY}, DEFAULT, tag, arch,
                                       task_type)
    assert result["image"] == image and result["source"] == "policy"
    assert tag in result["reason"]


def test_no_policy_or_no_matching_rule_uses_the_default():
    assert image_policy.choose_image({}, DEFAULT, "t", "x86_64", "buildArch") == {
        "image": DEFAULT, "source": "default", "error": False,
        "reason": "tag t has no adjutant_image_policy; using task_image_default"}
    only_arm = {"adjutant_image_policy": {"rules": [
        {"type": "tag_arch", "tag": "t", "arch": "aarch64", "image": "arm"}]}}
    result = image_policy.choose_image(only_arm, DEFAULT, "t", "x86_64", "buildArch")
    assert result["image"] == DEFAULT and "no rule" in result["reason"]


def test_policy_may_be_json_text():
    extra = {"adjutant_image_policy": '{"rules": [{"type": "default", "image": "x"}]}'}
    assert image_policy.choose_image(extra, DEFAULT, "t", "a", "m")["image"] == "x"


@pytest.mark.parametrize("policy, message", [
    ("{not json", "not valid JSON"),
    ([{"type": "default", "image": "x"}], "expected an object with a 'rules' list"),
    ({"rules": {"type": "default"}}, "'rules' must be a list"),
    ({"rules": ["x"]}, "rule 1: expected an object"),
    ({"rules": [{"type": "arch", "image": "x"}]}, "rule 1: type 'arch' is not one of"),
    ({"rules": [{"type": "tag", "image": "x"}]}, "rule 1 (tag): 'tag' must be a non-empty"),
    ({"rules": [{"type": "default", "image": "x"}, {"type": "default", "image": ""}]},
     "rule 2 (default): 'image' must be a non-empty"),
    ({"rules": [{"type": "tag_arch", "tag": "t", "arch": 5, "image": "x"}]}, "'arch'"),
    ({"rules": [{"type": "default", "image": "x", "tags": "t"}]}, "unknown field(s) tags"),
])
def test_malformed_policy_falls_back_and_says_why(policy, message):
    result = image_policy.choose_image({"adjutant_image_policy": policy}, DEFAULT, "t", "x86_64",
                                       "buildArch")
    assert result["image"] == DEFAULT and result["error"] is True
    assert "malformed adjutant_image_policy on tag t" in result["reason"]
    assert message in result["reason"]


def make_cache(tmp_path, now, ttl=300):
    return image_policy.PolicyCache(str(tmp_path / "state" / "cache.json"), ttl,
                                    clock=lambda: now[0])


def test_results_are_cached_for_the_ttl_then_asked_again(tmp_path):
    now = [1000.0]
    hub = Hub({"adjutant_image_policy": POLICY})
    cache = make_cache(tmp_path, now)
    first = image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch",
                                       cache=cache)
    assert first["image"] == "reg/f41:1" and first["cached"] is False
    now[0] += 299
    second = image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch",
                                        cache=cache)
    assert second["image"] == "reg/f41:1" and second["cached"] is True and hub.calls == 1
    # another arch is another key
    image_policy.resolve_image(hub, Config(), "f41-build", "aarch64", "buildArch", cache=cache)
    assert hub.calls == 2
    now[0] += 2
    hub.extra = {}
    third = image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch",
                                       cache=cache)
    assert third["image"] == DEFAULT and hub.calls == 3


def test_hub_error_uses_a_stale_result_then_the_default(tmp_path):
    now = [1000.0]
    hub = Hub({"adjutant_image_policy": POLICY})
    cache = make_cache(tmp_path, now)
    image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch", cache=cache)
    now[0] += 1000
    hub.error = OSError("connection refused")
    stale = image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch",
                                       cache=cache, errors=(OSError,))
    assert stale["image"] == "reg/f41:1" and stale["error"] is True
    assert "connection refused" in stale["reason"] and "cached 1000 s ago" in stale["reason"]
    fresh_key = image_policy.resolve_image(hub, Config(), "el10-build", "x86_64", "buildArch",
                                           cache=cache, errors=(OSError,))
    assert fresh_key["image"] == DEFAULT and "cannot read the policy" in fresh_key["reason"]


def test_disabled_policy_and_zero_ttl(tmp_path):
    hub = Hub({"adjutant_image_policy": POLICY})
    config = Config()
    config.policy_enabled = False
    result = image_policy.resolve_image(hub, config, "f41-build", "x86_64", "buildArch",
                                        cache=make_cache(tmp_path, [0.0]))
    assert result["image"] == DEFAULT and result["source"] == "disabled" and hub.calls == 0
    cache = make_cache(tmp_path, [0.0], ttl=0)
    for dummy in range(2):
        image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch", cache=cache)
    assert hub.calls == 2


def test_a_corrupt_cache_file_is_ignored(tmp_path):
    cache = make_cache(tmp_path, [5.0])
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "cache.json").write_text("{garbage")
    hub = Hub({"adjutant_image_policy": POLICY})
    result = image_policy.resolve_image(hub, Config(), "f41-build", "x86_64", "buildArch",
                                        cache=cache)
    assert result["image"] == "reg/f41:1"
    assert cache.get(cache.key("f41-build", "x86_64", "buildArch"))["image"] == "reg/f41:1"
