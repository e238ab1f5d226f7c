"""The GVM client against the fake gvmd, through python-gvm over TLS."""

from __future__ import annotations

import logging

import pytest
import trustme
from scanguard import (
    PortSet,
    ScannerConfig,
    ScannerError,
    Targets,
    compile_plan,
    load_workspace,
    managed_marker,
    payload_hash,
    VendorCheck,
    violations,
)
from scanguard_gvm.connection import open_connection
from scanguard_gvm.document import parse, render
from scanguard_gvm.plugin import VENDOR
from tests.fakes.gvm import FakeGvmd

DOS_OID = "1.3.6.1.4.1.25623.1.0.900001"
WEB_OIDS = ("1.3.6.1.4.1.25623.1.0.900041", "1.3.6.1.4.1.25623.1.0.900042", "1.3.6.1.4.1.25623.1.0.900043")


@pytest.fixture
def fake():
    with FakeGvmd(timeout_sleep=3.0) as f:
        yield f


def _config(fake, monkeypatch, **extra) -> ScannerConfig:
    monkeypatch.setenv("GVM_TEST_USER", fake.username)
    monkeypatch.setenv("GVM_TEST_PASSWORD", fake.password)
    return ScannerConfig(name="openvas-lab", type="gvm", url=f"https://{fake.host}:{fake.port}",
                         credentials={"username": "GVM_TEST_USER", "password": "GVM_TEST_PASSWORD"},
                         tls={"ca_bundle": fake.ca_bundle}, timeout_s=1.0, **extra)


@pytest.fixture
def client(fake, monkeypatch):
    return VENDOR.client(_config(fake, monkeypatch))


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def push(client, ct) -> tuple[str, dict]:
    doc = render(ct)
    return client.create(ct.name, doc, managed_marker(ct.name, payload_hash(doc))), doc


def test_pushed_template_reads_back_with_its_rendered_hash(client, plan):
    rid, doc = push(client, plan.get("full-audit@payment-terminals"))
    obj = client.read(rid)
    assert payload_hash(obj.payload) == payload_hash(doc) == obj.marker_hash


def test_pushed_port_list_leaves_out_7100(fake, client, plan):
    push(client, plan.get("full-audit@payment-terminals"))
    (pl,) = fake.state.port_lists.values()
    assert not any(r["type"] == "tcp" and r["start"] <= 7100 <= r["end"] for r in pl.ranges)


def test_pushed_target_uses_the_port_list_and_excludes_hosts(fake, client, plan):
    push(client, plan.get("full-audit"))
    (tgt,) = fake.state.targets.values()
    assert tgt.port_list_id in fake.state.port_lists
    assert "10.30.8.21" in tgt.exclude_hosts.split(",")


def test_list_managed_reads_every_pushed_template(client, plan):
    names = ["full-audit@payment-terminals", "discovery@hvac"]
    for n in names:
        push(client, plan.get(n))
    listed = {o.name: o for o in client.list_managed()}
    assert sorted(listed) == sorted(names)
    assert all(o.managed and payload_hash(o.payload) == o.marker_hash for o in listed.values())


def test_reading_again_writes_nothing_and_gives_the_same_hash(fake, client, plan):
    rid, doc = push(client, plan.get("full-audit@energy-plcs"))
    writes = len(fake.writes())
    hashes = {payload_hash(o.payload) for o in (client.read(rid), client.list_managed()[0])}
    assert hashes == {payload_hash(doc)} and len(fake.writes()) == writes


def test_console_edit_adding_7100_back_is_visible(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    (pl_id,) = fake.state.port_lists
    fake.edit("port_list", pl_id, add_range=("tcp", 7100, 7100))
    obj = client.read(rid)
    assert payload_hash(obj.payload) != obj.marker_hash
    assert [v.kind for v in violations(parse(obj.payload), ct.constraints, vendor="gvm")] == ["excluded_ports"]


def test_console_edit_turning_safe_checks_off_is_visible(fake, client, plan):
    ct = plan.get("fragile-safe@energy-plcs")
    rid, _ = push(client, ct)
    fake.edit("config", rid, scanner_preferences={"safe_checks": "no"})
    obj = client.read(rid)
    assert payload_hash(obj.payload) != obj.marker_hash
    assert parse(obj.payload).checks.safe_only is False


def test_a_config_in_use_cannot_be_edited_in_place(fake, client, plan):
    rid, _ = push(client, plan.get("full-audit@payment-terminals"))
    with client._session() as gmp, pytest.raises(Exception, match="Config is in use"):
        gmp.modify_scan_config_set_scanner_preference(rid, "safe_checks", value="no")


def test_update_creates_a_new_version_and_repoints_the_task(fake, client, plan):
    ct = plan.get("full-audit@payment-terminals")
    rid, doc = push(client, ct)
    fake.edit("config", rid, scanner_preferences={"safe_checks": "no"})
    new_id = client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    (task,) = fake.state.tasks.values()
    assert new_id != rid and task.config_id == new_id and rid not in fake.state.configs
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_update_leaves_one_version_of_each_object(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    assert (len(fake.state.configs), len(fake.state.targets), len(fake.state.port_lists)) == (2, 1, 1)  # + Full and fast


def test_delete_removes_every_object_of_the_template(fake, client, plan):
    rid, _ = push(client, plan.get("discovery@hvac"))
    client.delete(rid)
    assert (len(fake.state.configs), fake.state.tasks, fake.state.targets, fake.state.port_lists) == (1, {}, {}, {})


def test_excluded_nvt_selects_every_other_nvt_of_its_family(fake, client, plan):
    ct = plan.get("full-audit@hvac")
    t = ct.template.model_copy(update={"checks": ct.template.checks.model_copy(
        update={"excluded_vendor_checks": frozenset(ct.template.checks.excluded_vendor_checks) | {
            VendorCheck(vendor="gvm", kind="oid", id=WEB_OIDS[0])}})})
    rid, doc = push(client, ct.model_copy(update={"template": t}))
    cfg = fake.state.configs[rid]
    assert WEB_OIDS[0] not in cfg.selected and set(WEB_OIDS[1:]) <= cfg.selected
    assert client.read(rid).payload["scan_config"]["nvt_selection"] == {"excluded": [WEB_OIDS[0]]}


def test_excluded_category_switches_its_family_off(fake, client, plan):
    rid, _ = push(client, plan.get("full-audit@hvac"))
    assert DOS_OID not in fake.state.configs[rid].selected


def test_template_without_targets_pushes_config_and_port_list_only(fake, client, plan):
    ct = plan.get("full-audit").model_copy(update={"targets": Targets()})
    rid, doc = push(client, ct)
    assert (fake.state.targets, fake.state.tasks, len(fake.state.port_lists)) == ({}, {}, 1)
    assert payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_template_without_targets_uses_the_scanners_targets(fake, monkeypatch, plan):
    client = VENDOR.client(_config(fake, monkeypatch, targets=["10.99.0.0/24"]))
    ct = plan.get("full-audit").model_copy(update={"targets": Targets()})
    rid, doc = push(client, ct)
    (tgt,) = fake.state.targets.values()
    assert tgt.hosts == "10.99.0.0/24" and payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_template_without_ports_pushes_an_empty_port_list(fake, client, plan):
    ct = plan.get("discovery@hvac")
    ct = ct.model_copy(update={"template": ct.template.model_copy(update={"ports": PortSet()})})
    rid, doc = push(client, ct)
    (pl,) = fake.state.port_lists.values()
    assert pl.ranges == [] and payload_hash(client.read(rid).payload) == payload_hash(doc)


def test_refused_credentials_name_the_scanner_and_never_the_password(fake, monkeypatch, caplog):
    config = _config(fake, monkeypatch)
    monkeypatch.setenv("GVM_TEST_PASSWORD", "wrong-secret-value")
    with caplog.at_level(logging.DEBUG), pytest.raises(ScannerError) as err:
        VENDOR.client(config).list_managed()
    assert "scanner openvas-lab: authentication failed" in str(err.value) and err.value.status == 400
    assert not err.value.transient
    assert "wrong-secret-value" not in str(err.value) + caplog.text + repr(err.value.__cause__)


def test_missing_credential_names_the_environment_variable(fake, monkeypatch):
    config = _config(fake, monkeypatch)
    monkeypatch.delenv("GVM_TEST_PASSWORD")
    with pytest.raises(ScannerError, match="GVM_TEST_PASSWORD"):
        VENDOR.client(config).list_managed()


@pytest.mark.parametrize("kind", ["503", "reset", "timeout"])
def test_transient_faults_are_marked_transient(fake, client, kind):
    fake.fail_next(kind, command="get_configs")
    with pytest.raises(ScannerError) as err:
        client.list_managed()
    assert err.value.transient and "openvas-lab" in str(err.value)


def test_a_500_is_not_transient(fake, client):
    fake.fail_next("500", command="get_configs")
    with pytest.raises(ScannerError) as err:
        client.list_managed()
    assert not err.value.transient and err.value.status == 500


def test_unreachable_scanner_is_transient(monkeypatch):
    with FakeGvmd() as f:
        config = ScannerConfig.model_validate({**_config(f, monkeypatch).model_dump(), "tls": {"verify": False}})
    with pytest.raises(ScannerError) as err:
        VENDOR.client(config).list_managed()
    assert err.value.transient


def test_a_failed_create_leaves_nothing_behind(fake, client, plan):
    fake.fail_next("500", command="create_target")
    with pytest.raises(ScannerError):
        push(client, plan.get("discovery@hvac"))
    assert (len(fake.state.configs), fake.state.port_lists) == (1, {})


def test_leftovers_of_an_interrupted_update_are_hidden_and_collected(fake, client, plan):
    ct = plan.get("discovery@hvac")
    rid, doc = push(client, ct)
    fake.fail_next("reset", command="modify_task")  # the new version is made, the task not repointed
    with pytest.raises(ScannerError):
        client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    assert [o.remote_id for o in client.list_managed()] == [rid]
    new_id = client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc)))
    assert set(fake.state.configs) == {new_id, "daba56c8-73ec-11df-a475-002264764cea"}


def test_tls_is_verified_against_the_ca_bundle(fake, monkeypatch, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    config = _config(fake, monkeypatch)
    config = ScannerConfig.model_validate({**config.model_dump(), "tls": {"ca_bundle": str(other)}})
    with pytest.raises(ScannerError, match="certificate verification failed") as err:
        VENDOR.client(config).list_managed()
    assert not err.value.transient


def test_unverified_tls_only_when_written_down(fake, monkeypatch):
    config = _config(fake, monkeypatch)
    config = ScannerConfig.model_validate({**config.model_dump(), "tls": {"verify": False}})
    assert VENDOR.client(config).list_managed() == []


def test_a_unix_socket_is_used_when_configured(tmp_path):
    conn = open_connection(ScannerConfig(name="local", type="gvm", socket=tmp_path / "gvmd.sock"))
    assert type(conn).__name__ == "UnixSocketConnection" and conn.path == str(tmp_path / "gvmd.sock")
