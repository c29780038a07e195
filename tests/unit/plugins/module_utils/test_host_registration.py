import koji
import pytest

from ansible_collections.koji_adjutant.builder.plugins.module_utils import host_registration as hr


class FakeHub(object):
    """The hub calls host_registration makes, on an in-memory host table."""

    def __init__(self, perms=("admin",)):
        self.hosts = {}
        self.channels = {"default": {"id": 1, "name": "default", "enabled": True},
                         "createrepo": {"id": 2, "name": "createrepo", "enabled": True}}
        self.members = {}
        self.perms = list(perms)
        self.writes = []

    def getHost(self, name):
        host = self.hosts.get(name)
        return dict(host) if host else None

    def listChannels(self, hostID=None):
        name = [h for h in self.hosts.values() if h["id"] == hostID][0]["name"]
        return [self.channels[c] for c in sorted(self.members[name])]

    def getChannel(self, name):
        return self.channels.get(name)

    def getPerms(self):
        return self.perms

    def getLoggedInUser(self):
        return {"name": "someone"}

    def addHost(self, name, arches, krb_principal=None):
        self.writes.append("addHost")
        self.hosts[name] = {"id": len(self.hosts) + 1, "name": name, "arches": " ".join(arches),
                            "capacity": 2.0, "description": None, "comment": None,
                            "enabled": True}
        self.members[name] = {"default"}

    def editHost(self, name, **kw):
        self.writes.append("editHost")
        self.hosts[name].update(kw)

    def enableHost(self, name):
        self.writes.append("enableHost")
        self.hosts[name]["enabled"] = True

    def disableHost(self, name):
        self.writes.append("disableHost")
        self.hosts[name]["enabled"] = False

    def addHostToChannel(self, name, channel, create=False):
        self.writes.append("addHostToChannel")
        if channel not in self.channels:
            assert create
            self.channels[channel] = {"id": len(self.channels) + 1, "name": channel,
                                      "enabled": True}
        self.members[name].add(channel)

    def removeHostFromChannel(self, name, channel):
        self.writes.append("removeHostFromChannel")
        self.members[name].discard(channel)


def params(**overrides):
    base = dict(name="builder1", arches=["x86_64", "i686"], capacity=4.0, description="w",
                comment=None, enabled=True, channels=["default", "createrepo"],
                channels_exclusive=False, create_channels=False, state="present")
    base.update(overrides)
    return base


def test_new_host_is_added_then_nothing_changes():
    hub = FakeHub()
    result = hr.register_host(hub, params())
    assert result["changed"]
    assert hub.writes == ["addHost", "editHost", "addHostToChannel"]
    assert "capacity: 2.0 -> 4.0" in result["changes"]
    assert result["host"]["capacity"] == 4.0 and result["channels"] == ["createrepo", "default"]
    assert result["diff"]["before"] == {}
    hub.writes = []
    again = hr.register_host(hub, params(arches=["i686", "x86_64"]))
    assert not again["changed"] and again["changes"] == [] and hub.writes == []


def test_check_mode_predicts_without_writing():
    hub = FakeHub()
    result = hr.register_host(hub, params(enabled=False), check_mode=True)
    assert result["changed"] and hub.writes == [] and result["host"] is None
    assert result["diff"]["after"]["enabled"] is False
    assert result["diff"]["after"]["channels"] == ["createrepo", "default"]
    assert result["changes"][0] == "add host builder1 (arches: x86_64 i686)"


def test_exclusive_channels_and_disable():
    hub = FakeHub()
    hr.register_host(hub, params())
    result = hr.register_host(hub, params(channels=["createrepo"], channels_exclusive=True,
                                          enabled=False, description=""))
    assert result["changes"] == ["description: 'w' -> ''", "disable host builder1",
                                 "remove host builder1 from channel default"]
    assert hub.members["builder1"] == {"createrepo"} and not hub.hosts["builder1"]["enabled"]


def test_absent_disables_and_missing_host_stays_missing():
    hub = FakeHub()
    assert not hr.register_host(hub, params(state="absent", enabled=None))["changed"]
    assert hub.hosts == {}
    hr.register_host(hub, params())
    result = hr.register_host(hub, params(state="absent", enabled=None, capacity=9.0))
    assert result["changes"] == ["disable host builder1"]
    with pytest.raises(hr.RegistrationError):
        hr.register_host(hub, params(state="absent", enabled=True))


def test_unknown_channel_fails_before_any_write():
    hub = FakeHub()
    with pytest.raises(hr.RegistrationError, match="channel image does not exist"):
        hr.register_host(hub, params(channels=["image"]))
    assert hub.writes == []
    result = hr.register_host(hub, params(channels=["image"], create_channels=True))
    assert "create channel image" in result["changes"]


def test_permission_checked_before_any_write():
    hub = FakeHub(perms=["repo"])
    with pytest.raises(hr.RegistrationError, match="user someone lacks the host permission") as err:
        hr.register_host(hub, params())
    assert err.value.fault == "ActionNotAllowed" and hub.writes == []
    hub.perms = ["host"]
    with pytest.raises(hr.RegistrationError, match="lacks the admin permission"):
        hr.register_host(hub, params(channels=["image"], create_channels=True))
    assert hub.writes == []


def test_new_host_needs_arches_and_valid_ones():
    with pytest.raises(hr.RegistrationError, match="arches are needed"):
        hr.register_host(FakeHub(), params(arches=None))
    with pytest.raises(hr.RegistrationError, match="invalid arches"):
        hr.register_host(FakeHub(), params(arches=["x86/64"]))


def test_hub_refusal_names_the_call():
    hub = FakeHub()

    def refuse(*args, **kwargs):
        raise koji.ActionNotAllowed("host permission required")
    hub.addHost = refuse
    with pytest.raises(hr.RegistrationError, match="permission denied: addHost failed"):
        hr.register_host(hub, params())
