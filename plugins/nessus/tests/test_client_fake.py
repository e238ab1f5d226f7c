"""The Nessus client against the stateful fake Nessus over real HTTPS, the fake answering in the
recorded real shapes: push, read back from where Nessus shows each part, idempotency, drift, and
the errors a user meets."""

from __future__ import annotations

import logging

import pytest

from scanguard import CannotEnforce, ScannerConfig, ScannerError, compile_plan, load_workspace, managed_marker
from scanguard import payload_hash, violations
from scanguard_nessus.plugin import NESSUS, parse
from scanguard_tenable_policy import DISCOVERY_FAMILIES, parse_range
from scanguard_testbed_scanners.nessus import ADVANCED_UUID, FakeNessus


@pytest.fixture
def fake():
    with FakeNessus(tls=True) as f:
        yield f


@pytest.fixture
def config(fake, monkeypatch) -> ScannerConfig:
    monkeypatch.setenv("NESSUS_ACCESS_KEY", fake.access_key)
    monkeypatch.setenv("NESSUS_SECRET_KEY", fake.secret_key)
    return ScannerConfig(
        name="nessus-main", type="nessus", url=fake.url, timeout_s=2,
        credentials={"access_key": "NESSUS_ACCESS_KEY", "secret_key": "NESSUS_SECRET_KEY"},
        tls={"verify": True, "ca_bundle": fake.ca_bundle},
    )


@pytest.fixture
def client(config):
    return NESSUS.client(config)


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def _takes(ct) -> bool:
    try:
        NESSUS.render(ct)
    except CannotEnforce:
        return False
    return True


def push(client, plan) -> dict[str, str]:
    """A minimal sync: create what is missing, update what differs, leave the rest alone."""
    live = {o.name: o for o in client.list_managed() if o.managed}
    ids = {}
    for ct in plan.for_scanner("nessus-main"):
        if not _takes(ct):
            continue
        payload = NESSUS.render(ct)
        digest = payload_hash(payload)
        marker = managed_marker(ct.name, digest)
        if ct.name not in live:
            ids[ct.name] = client.create(ct.name, payload, marker)
            continue
        rid = live[ct.name].remote_id
        back = client.read(rid)
        if back.marker_hash != digest or payload_hash(back.payload) != digest:
            client.update(rid, ct.name, payload, marker)
        ids[ct.name] = rid
    return ids


def _restore(client, plan, name: str, rid: str) -> None:
    ct = plan.get(name)
    payload = NESSUS.render(ct)
    client.update(rid, ct.name, payload, managed_marker(ct.name, payload_hash(payload)))


def test_the_policy_is_made_from_the_editor_template_the_scanner_names(fake, client, plan):
    ids = push(client, plan)
    assert fake.policies[int(ids["full-audit"])]["uuid"] == ADVANCED_UUID
    assert ("GET", "/editor/policy/templates", 200) in fake.requests


def test_pushed_policy_keeps_port_7100_out_and_reads_back_as_a_string_document(fake, client, plan):
    ids = push(client, plan)
    doc = client.get_policy(ids["full-audit@infusion"])
    assert set(doc) == {"settings", "uuid"}  # the recorded shape: no family state here
    settings = doc["settings"]
    assert not parse_range(settings["portscan_range"]).contains(7100, "tcp")
    assert settings["unscanned_closed"] == "yes" and settings["safe_checks"] == "yes"
    assert all(isinstance(v, str) for v in settings.values())
    assert len(settings) > 80  # a GET returns the whole document, not only what was written


def test_every_pushed_policy_reads_back_with_its_rendered_hash(client, plan):
    ids = push(client, plan)
    assert ids
    for name, rid in ids.items():
        ct = plan.get(name)
        back = client.read(rid)
        digest = payload_hash(NESSUS.render(ct))
        assert back.managed and back.marker_hash == digest
        assert payload_hash(back.payload) == digest
        assert violations(parse(back.payload), ct.constraints, vendor="nessus") == []


def test_every_family_the_editor_lists_is_set_explicitly(fake, client, plan):
    ids = push(client, plan)
    policy = fake.policies[int(ids["full-audit"])]
    assert set(policy["families"]) == set(fake.families)
    assert policy["families"]["Denial of Service"] == "disabled"
    discovery = fake.policies[int(ids["discovery"])]["families"]
    assert {f for f, s in discovery.items() if s == "enabled"} == DISCOVERY_FAMILIES


def test_a_family_the_feed_gained_is_turned_off_in_a_policy_without_checks(fake, client, plan):
    fake.add_family("Tenable.ot")
    ids = push(client, plan)
    assert fake.family_status(ids["discovery"], "Tenable.ot") == "disabled"
    assert fake.family_status(ids["full-audit"], "Tenable.ot") == "enabled"


def test_a_family_the_feed_gains_after_the_push_is_drift_in_a_policy_without_checks(fake, client, plan):
    ids = push(client, plan)
    fake.add_family("Tenable.ot")  # enabled in every policy: the feed added it
    back = client.read(ids["discovery"])
    assert payload_hash(back.payload) != back.marker_hash
    assert parse(back.payload).checks.enabled  # no longer "checks off"
    _restore(client, plan, "discovery", ids["discovery"])
    assert fake.family_status(ids["discovery"], "Tenable.ot") == "disabled"


def test_pushing_again_writes_nothing(fake, client, plan):
    push(client, plan)
    writes = len(fake.writes())
    push(client, plan)
    assert len(fake.writes()) == writes


def test_console_edit_adding_7100_back_is_drift_and_less_safe(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@infusion"]
    fake.edit_policy(rid, settings={"portscan_range": "1-65535"})
    back = client.read(rid)
    assert payload_hash(back.payload) != back.marker_hash
    ct = plan.get("full-audit@infusion")
    assert "excluded_ports" in {v.kind for v in violations(parse(back.payload), ct.constraints, vendor="nessus")}


def test_a_family_re_enabled_in_the_console_is_read_from_the_editor_and_restored(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@infusion"]
    fake.edit_policy(rid, families={"Denial of Service": "enabled"})
    back = client.read(rid)
    assert "dos" not in parse(back.payload).checks.excluded_categories
    _restore(client, plan, "full-audit@infusion", rid)
    assert fake.family_status(rid, "Denial of Service") == "disabled"
    assert payload_hash(client.read(rid).payload) == client.read(rid).marker_hash


def test_a_family_disabled_by_hand_is_enabled_again(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit"]
    fake.edit_policy(rid, families={"Web Servers": "disabled"})
    assert payload_hash(client.read(rid).payload) != client.read(rid).marker_hash
    _restore(client, plan, "full-audit", rid)
    assert fake.family_status(rid, "Web Servers") == "enabled"
    assert payload_hash(client.read(rid).payload) == client.read(rid).marker_hash


def test_a_port_scanner_running_against_its_settings_is_seen_through_the_export(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@infusion"]
    assert fake.policies[int(rid)]["settings"]["tcp_scanner"] == "no"
    fake.edit_policy(rid, port_scanners={"10335": "enabled"})  # the TCP scanner runs all the same
    back = client.read(rid)
    assert back.payload["settings"]["tcp_scanner"] == "yes"
    assert payload_hash(back.payload) != back.marker_hash


def test_plugin_ids_are_filed_under_the_family_the_scanner_names(fake, client):
    fake.add_plugin("990001", "Example web check", "Web Servers")
    from scanguard import CompiledTemplate, ScanTemplate

    ct = CompiledTemplate(name="t", base="t", template=ScanTemplate(
        name="t", checks={"excluded_vendor_checks": ["nessus:plugin:990001"]}))
    payload = NESSUS.render(ct)
    rid = client.create("t", payload, managed_marker("t", payload_hash(payload)))
    assert fake.family_status(rid, "Web Servers") == "mixed"
    assert fake.policies[int(rid)]["plugins"] == {"990001": "disabled"}
    back = client.read(rid)
    assert payload_hash(back.payload) == back.marker_hash
    assert "nessus:plugin:990001" in {v.text() for v in parse(back.payload).checks.excluded_vendor_checks}


def test_a_plugin_in_a_family_turned_off_anyway_reads_back_through_the_hint(fake, client):
    fake.add_plugin("990002", "Example DoS check", "Denial of Service")
    from scanguard import CompiledTemplate, ScanTemplate

    ct = CompiledTemplate(name="t", base="t", template=ScanTemplate(
        name="t", checks={"excluded_categories": ["dos"], "excluded_vendor_checks": ["nessus:plugin:990002"]}))
    payload = NESSUS.render(ct)
    rid = client.create("t", payload, managed_marker("t", payload_hash(payload)))
    assert fake.family_status(rid, "Denial of Service") == "disabled" and fake.policies[int(rid)]["plugins"] == {}
    back = client.read(rid)
    assert payload_hash(back.payload) == back.marker_hash
    fake.edit_policy(rid, families={"Denial of Service": "enabled"})
    assert "990002" not in client.read(rid).payload["disabled_plugins"]


def test_a_plugin_the_scanner_does_not_know_is_refused(fake, client):
    from scanguard import CompiledTemplate, ScanTemplate

    ct = CompiledTemplate(name="t", base="t", template=ScanTemplate(
        name="t", checks={"excluded_vendor_checks": ["nessus:plugin:999999"]}))
    payload = NESSUS.render(ct)
    with pytest.raises(CannotEnforce, match="999999"):
        client.create("t", payload, managed_marker("t", payload_hash(payload)))
    assert not fake.policies


def test_list_managed_includes_unmanaged_policies_with_a_managed_name(fake, client, plan):
    push(client, plan)
    fake.add_policy("full-audit", settings={"portscan_range": "default"})
    fake.add_policy("someone-elses-policy")
    listed = client.list_managed()
    assert [o.name for o in listed if not o.managed] == ["full-audit"]
    assert all(o.payload is None for o in listed)


def test_copy_and_delete(fake, client, plan):
    ids = push(client, plan)
    copy_id = client.copy_policy(ids["discovery"])
    assert fake.policies[int(copy_id)]["settings"]["name"] == "Copy of discovery"
    client.delete(copy_id)
    assert int(copy_id) not in fake.policies


def test_no_policies_is_an_empty_list(client):
    assert client.list_policies() == [] and client.list_managed() == []


def test_refused_credential_names_the_scanner(fake, config, monkeypatch):
    monkeypatch.setenv("NESSUS_SECRET_KEY", "not-the-key")
    with pytest.raises(ScannerError) as e:
        NESSUS.client(config).list_managed()
    assert e.value.status == 401 and not e.value.transient
    assert "nessus-main" in str(e.value) and "refused" in str(e.value) and "NESSUS_SECRET_KEY" in str(e.value)
    assert "not-the-key" not in str(e.value) and fake.access_key not in str(e.value)


def test_professional_412_points_to_the_policy_file(fake, client):
    fake.professional = True
    with pytest.raises(ScannerError) as e:
        client.list_managed()
    assert e.value.status == 412 and not e.value.transient
    assert "Nessus Professional" in str(e.value) and ".policy.nessus" in str(e.value)


@pytest.mark.parametrize("kind,status", [("429", 429), ("502", 502), ("503", 503), ("504", 504),
                                         ("reset", None), ("timeout", None)])
def test_transient_failures_are_marked_transient(fake, client, kind, status):
    fake.hang_s = 4.0
    client.timeout = 0.5
    fake.fail_next(kind, method="GET", path_prefix="/policies")
    with pytest.raises(ScannerError) as e:
        client.list_managed()
    assert e.value.transient and e.value.status == status
    assert client.list_managed() == []  # no retry inside the client; the next call succeeds


def test_429_carries_retry_after(fake, client):
    fake.retry_after = 1
    fake.fail_next("429")
    with pytest.raises(ScannerError) as e:
        client.list_policies()
    assert e.value.retry_after == 1.0


def test_server_error_is_not_transient(fake, client):
    fake.fail_next("500")
    with pytest.raises(ScannerError) as e:
        client.list_policies()
    assert e.value.status == 500 and not e.value.transient


def test_tls_is_verified_by_default(fake, config, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    no_ca = config.model_copy(update={"tls": config.tls.model_copy(update={"ca_bundle": None})})
    with pytest.raises(ScannerError) as e:
        NESSUS.client(no_ca).list_policies()
    assert "TLS" in str(e.value) and "ca_bundle" in str(e.value) and not e.value.transient


def test_secrets_never_reach_logs_or_reprs(fake, client, plan, caplog):
    caplog.set_level(logging.DEBUG)
    push(client, plan)
    fake.fail_next("503")
    with pytest.raises(ScannerError) as e:
        client.list_policies()
    for text in (caplog.text, str(e.value), repr(client), repr(client.session.auth)):
        assert fake.access_key not in text and fake.secret_key not in text


def test_plain_http_fake_works_too(monkeypatch):
    with FakeNessus(tls=False) as f:
        monkeypatch.setenv("K1", f.access_key)
        monkeypatch.setenv("K2", f.secret_key)
        cfg = ScannerConfig(name="n", type="nessus", url=f.url, credentials={"access_key": "K1", "secret_key": "K2"})
        assert NESSUS.client(cfg).list_policies() == []
