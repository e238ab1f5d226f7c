"""The Security Center client against the stateful fake over real HTTPS: policies written with
every family by id and state, a single plugin switched off by listing the plugins its family
keeps, read back from the policy and its export, and the errors a user meets."""

from __future__ import annotations

import pytest

from scanguard import CannotEnforce, CompiledTemplate, ScannerError, ScanTemplate, managed_marker, payload_hash
from scanguard import violations
from scanguard_tenable_policy import DISCOVERY_FAMILIES
from scanguard_tenablesc.client import SecurityCenterClient
from scanguard_tenablesc.plugin import TENABLESC, parse
from tests.fakes.replay import ReplayServer


def _ct(**checks) -> CompiledTemplate:
    return CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", checks=checks))


def _push(client, ct) -> str:
    payload = TENABLESC.render(ct)
    return client.create(ct.name, payload, managed_marker(ct.name, payload_hash(payload)))


def test_a_template_reads_back_exactly_as_rendered(client, plan):
    for name in ("discovery", "full-audit@infusion", "full-audit@patient-monitors"):
        ct = plan.get(name)
        rid = _push(client, ct)
        back = client.read(rid)
        assert payload_hash(back.payload) == back.marker_hash == payload_hash(TENABLESC.render(ct))
        assert violations(parse(back.payload), ct.constraints, vendor="tenablesc") == []


def test_families_not_listed_are_disabled_and_checks_off_lists_only_the_discovery_families(client, fake):
    rid = _push(client, _ct(enabled=False))
    listed = {fake.families[fid] for fid in fake.policies[rid]["families"]}
    assert listed == DISCOVERY_FAMILIES & set(fake.families.values())
    assert client.read(rid).payload["all_check_families_off"]


def test_one_plugin_off_lists_every_other_plugin_of_its_family(client, fake):
    pid, (_, family) = next((p, v) for p, v in sorted(fake.plugins.items()) if v[1] == "Web Servers")
    rid = _push(client, _ct(excluded_vendor_checks=[f"nessus:plugin:{pid}"]))
    entry = fake.policies[rid]["families"][fake.family_id(family)]
    others = {p for p, (_, fam) in fake.plugins.items() if fam == family} - {pid}
    assert entry["state"] == "mixed" and set(entry["plugins"]) == others and others
    assert fake.plugin_status(rid, pid) == "disabled"
    back = parse(client.read(rid).payload)
    assert any(v.id == pid for v in back.checks.excluded_vendor_checks)


def test_a_family_or_plugin_the_scanner_does_not_know_is_refused_not_dropped(client, fake):
    with pytest.raises(CannotEnforce, match="no plugin family 'Medical Devices'"):
        _push(client, _ct(excluded_vendor_checks=["nessus:family:Medical Devices"]))
    with pytest.raises(CannotEnforce, match="knows no plugin 99999999"):
        _push(client, _ct(excluded_vendor_checks=["nessus:plugin:99999999"]))
    assert not fake.policies


def test_an_update_keeps_the_preferences_someone_set_and_restores_ours(client, fake, plan):
    ct = plan.get("full-audit@infusion")
    rid = _push(client, ct)
    fake.edit_policy(rid, preferences={"smtp_domain": "hospital.example", "safe_checks": "no"},
                     families={"Denial of Service": "enabled"})
    payload = TENABLESC.render(ct)
    client.update(rid, ct.name, payload, managed_marker(ct.name, payload_hash(payload)))
    p = fake.policies[rid]
    assert p["preferences"]["smtp_domain"] == "hospital.example" and p["preferences"]["safe_checks"] == "yes"
    assert fake.family_status(rid, "Denial of Service") == "disabled"
    assert payload_hash(client.read(rid).payload) == payload_hash(payload)


def test_a_console_edit_reads_back_less_safe(client, fake, plan):
    ct = plan.get("full-audit@infusion")
    rid = _push(client, ct)
    fake.edit_policy(rid, families={"Denial of Service": "enabled"}, port_scanners={"34277": "enabled"})
    kinds = {v.kind for v in violations(parse(client.read(rid).payload), ct.constraints, vendor="tenablesc")}
    assert "excluded_checks" in kinds


def test_where_the_policy_and_its_export_disagree_the_more_enabled_state_counts(client, fake, monkeypatch):
    rid = _push(client, _ct(enabled=False))
    real = fake.export(rid)
    doctored = real.replace(b"<FamilyName>Denial of Service</FamilyName>\n<Status>disabled</Status>",
                            b"<FamilyName>Denial of Service</FamilyName>\n<Status>enabled</Status>")
    assert doctored != real
    monkeypatch.setattr(type(fake), "export", lambda self, policy_id: doctored)
    doc = client.read(rid).payload
    assert not doc["all_check_families_off"] and "Denial of Service" not in doc["disabled_families"]


def test_a_wrong_key_names_the_variables_and_never_shows_the_key(fake, monkeypatch, scanner_config):
    monkeypatch.setenv("SG_TEST_SC_ACCESS", "wrong-access-key-000")
    monkeypatch.setenv("SG_TEST_SC_SECRET", "wrong-secret-key-000")
    c = SecurityCenterClient(scanner_config(fake.url, fake.ca_bundle))
    with pytest.raises(ScannerError) as e:
        c.list_policies()
    text = str(e.value)
    assert "credential was refused" in text and "SG_TEST_SC_ACCESS" in text and "wrong-secret-key-000" not in text


def test_a_request_the_scanner_refuses_as_invalid_says_what_it_said(client):
    with pytest.raises(ScannerError) as e:
        client.call("POST", "/policy", {"name": ""})
    assert "error 146" in str(e.value) and "credential" not in str(e.value)


def test_an_answer_outside_the_envelope_is_an_error(monkeypatch, scanner_config):
    monkeypatch.setenv("RK_A", "a" * 8)
    monkeypatch.setenv("RK_S", "s" * 8)
    with ReplayServer([{"method": "GET", "path": "/rest/policy", "status": 200,
                        "response_body": {"policies": []}}]) as replay:
        with pytest.raises(ScannerError, match="outside Security Center's envelope"):
            SecurityCenterClient(scanner_config(replay.url).model_copy(
                update={"credentials": {"access_key": "RK_A", "secret_key": "RK_S"}})).list_policies()
