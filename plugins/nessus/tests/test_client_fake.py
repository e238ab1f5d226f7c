"""The Nessus client against the stateful fake Nessus over real HTTPS: push, read back, idempotency,
drift, and the errors a user meets."""

from __future__ import annotations

import logging

import pytest

from scanguard import ScannerConfig, ScannerError, compile_plan, load_workspace, managed_marker, payload_hash, violations
from scanguard_nessus.plugin import NESSUS, parse
from scanguard_nessus.portrange import parse_range
from tests.fakes.nessus import FakeNessus


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


@pytest.fixture
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def push(client, plan) -> dict[str, str]:
    """A minimal sync: create what is missing, update what differs, leave the rest alone."""
    live = {o.name: o for o in client.list_managed() if o.managed}
    ids = {}
    for ct in plan.for_scanner("nessus-main"):
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


def test_push_then_read_back_payment_terminal_policy_without_7100(fake, client, plan):
    ids = push(client, plan)
    doc = client.get_policy(ids["full-audit@payment-terminals"])
    settings = doc["settings"]
    assert not parse_range(settings["portscan_range"]).contains(7100, "tcp")
    assert settings["unscanned_closed"] == "yes"
    assert settings["safe_checks"] == "yes"
    assert all(isinstance(v, str) for v in settings.values())
    assert len(settings) > 80  # a GET returns the whole document, not only what was written


def test_every_pushed_policy_reads_back_with_its_rendered_hash(client, plan):
    ids = push(client, plan)
    for ct in plan.for_scanner("nessus-main"):
        back = client.read(ids[ct.name])
        digest = payload_hash(NESSUS.render(ct))
        assert back.managed and back.marker_hash == digest
        assert payload_hash(back.payload) == digest
        assert violations(parse(back.payload), ct.constraints, vendor="nessus") == []


def test_pushing_again_writes_nothing(fake, client, plan):
    push(client, plan)
    writes = len(fake.writes())
    push(client, plan)
    assert len(fake.writes()) == writes


def test_console_edit_adding_7100_back_is_visible_as_drift(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@payment-terminals"]
    fake.edit_policy(rid, settings={"portscan_range": "1-65535"})
    back = client.read(rid)
    assert payload_hash(back.payload) != back.marker_hash
    ct = plan.get("full-audit@payment-terminals")
    kinds = {v.kind for v in violations(parse(back.payload), ct.constraints, vendor="nessus")}
    assert "excluded_ports" in kinds


def test_console_edit_turning_safe_checks_off_is_visible_as_drift(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@payment-terminals"]
    fake.edit_policy(rid, settings={"safe_checks": "no"})
    back = client.read(rid)
    assert payload_hash(back.payload) != back.marker_hash
    assert parse(back.payload).checks.safe_only is False


def test_update_restores_a_family_re_enabled_in_the_console(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit@payment-terminals"]
    fake.edit_policy(rid, plugins={"Denial of Service": {"status": "enabled"}}, settings={"safe_checks": "no"})
    ct = plan.get("full-audit@payment-terminals")
    payload = NESSUS.render(ct)
    client.update(rid, ct.name, payload, managed_marker(ct.name, payload_hash(payload)))
    back = client.read(rid)
    assert payload_hash(back.payload) == payload_hash(payload)
    assert fake.policies[int(rid)]["plugins"]["Denial of Service"] == {"status": "disabled"}


def test_update_re_enables_a_family_disabled_by_hand(fake, client, plan):
    ids = push(client, plan)
    rid = ids["full-audit"]
    fake.edit_policy(rid, plugins={"Web Servers": {"status": "disabled"}})
    ct = plan.get("full-audit")
    payload = NESSUS.render(ct)
    client.update(rid, ct.name, payload, managed_marker(ct.name, payload_hash(payload)))
    assert payload_hash(client.read(rid).payload) == payload_hash(payload)


def test_list_managed_includes_unmanaged_policies_with_a_managed_name(fake, client, plan):
    push(client, plan)
    fake.add_policy("full-audit", settings={"portscan_range": "default"})
    fake.add_policy("someone-elses-policy")
    listed = client.list_managed()
    unmanaged = [o for o in listed if not o.managed]
    assert [o.name for o in unmanaged] == ["full-audit"]
    assert all(o.payload is None for o in listed)


def test_copy_and_delete(fake, client, plan):
    ids = push(client, plan)
    copy_id = client.copy_policy(ids["discovery"])
    assert fake.policies[int(copy_id)]["settings"]["name"] == "Copy of discovery"
    client.delete(copy_id)
    assert int(copy_id) not in fake.policies


def test_editor_templates_list_the_advanced_scan(client):
    assert client.template_uuid("advanced") == "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66"


def test_no_policies_is_an_empty_list(client):
    assert client.list_policies() == [] and client.list_managed() == []


def test_refused_credential_names_the_scanner(fake, config, monkeypatch):
    monkeypatch.setenv("NESSUS_SECRET_KEY", "not-the-key")
    with pytest.raises(ScannerError) as e:
        NESSUS.client(config).list_managed()
    assert e.value.status == 401 and not e.value.transient
    assert "nessus-main" in str(e.value) and "refused" in str(e.value)
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


def test_fail_at_counts_requests_from_now(fake, client):
    fake.fail_at(2, "503")
    client.list_policies()
    with pytest.raises(ScannerError):
        client.list_policies()
    client.list_policies()


def test_latency_still_answers(fake, client):
    fake.latency = 0.05
    assert client.list_policies() == []


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
