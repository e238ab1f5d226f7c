"""The client end to end against the fake console over HTTPS."""

import pytest

from scanguard import RemoteObject, ScannerClient, ScannerError, managed_marker, payload_hash
from scanguard_insightvm.client import InsightVMClient
from scanguard_insightvm.template import parse_template, render_template

NAME = "full-audit@payment-terminals"


def _push(client, plan, name=NAME):
    payload = render_template(plan.get(name))
    digest = payload_hash(payload)
    return client.create(name, payload, managed_marker(name, digest)), payload, digest


def test_client_is_a_scanner_client(client):
    assert isinstance(client, ScannerClient) and client.scanner == "ivm-test"


def test_create_returns_the_console_id(client, plan, fake):
    rid, _, _ = _push(client, plan)
    assert rid in fake.templates


def test_read_back_is_marked_managed_with_the_pushed_hash(client, plan):
    rid, _, digest = _push(client, plan)
    back = client.read(rid)
    assert back.managed and back.marker_hash == digest and back.name == NAME


def test_read_back_payload_hashes_like_the_rendered_one(client, plan):
    rid, payload, digest = _push(client, plan)
    assert payload_hash(client.read(rid).payload) == digest


def test_read_back_parses_to_the_safe_template(client, plan):
    rid, _, _ = _push(client, plan)
    assert not parse_template(client.read(rid).payload).ports.contains(7100)


def test_list_managed_returns_only_marked_templates(client, plan):
    rid, _, _ = _push(client, plan)
    listed = client.list_managed()
    assert [o.remote_id for o in listed] == [rid] and isinstance(listed[0], RemoteObject)


def test_list_managed_carries_payloads(client, plan):
    rid, _, digest = _push(client, plan)
    assert payload_hash(client.list_managed()[0].payload) == digest


def test_list_follows_pages(client, plan, fake, monkeypatch):
    monkeypatch.setattr("scanguard_insightvm.client.PAGE_SIZE", 2)
    _push(client, plan)
    assert len(client.list_templates()) == 5
    assert sum(1 for m, p, _ in fake.requests if m == "GET" and p == "/api/3/scan_templates") == 3


def test_unmanaged_template_with_a_managed_name_is_listed(client, plan, fake):
    _push(client, plan)
    fake.edit_template("discovery", {"name": NAME})
    listed = client.list_managed()
    assert {o.remote_id for o in listed if not o.managed} == {"discovery"}


def test_update_replaces_the_whole_object(client, plan, fake):
    rid, _, _ = _push(client, plan)
    payload = dict(render_template(plan.get("full-audit@energy-plcs")), name=NAME)  # the workspace moved on
    digest = payload_hash(payload)
    assert client.update(rid, NAME, payload, managed_marker(NAME, digest)) == rid
    back = client.read(rid)
    assert back.marker_hash == digest and payload_hash(back.payload) == digest


def test_update_is_get_then_put(client, plan, fake):
    rid, payload, digest = _push(client, plan)
    client.update(rid, NAME, payload, managed_marker(NAME, digest))
    assert [(m, p) for m, p, _ in fake.requests[-2:]] == [("GET", f"/api/3/scan_templates/{rid}"),
                                                          ("PUT", f"/api/3/scan_templates/{rid}")]


def test_second_push_of_the_same_template_has_the_same_hash(client, plan):
    rid, payload, digest = _push(client, plan)
    client.update(rid, NAME, payload, managed_marker(NAME, digest))
    assert payload_hash(client.read(rid).payload) == digest == payload_hash(render_template(plan.get(NAME)))


def test_update_keeps_console_only_fields(client, plan, fake):
    rid, payload, digest = _push(client, plan)
    fake.edit_template(rid, {"enhancedLogging": True})
    client.update(rid, NAME, payload, managed_marker(NAME, digest))
    assert fake.template(rid)["enhancedLogging"] is True


def test_console_edit_removing_7100_changes_the_hash(client, plan, fake):
    rid, _, digest = _push(client, plan)
    fake.edit_template(rid, {"discovery": {"service": {"tcp": {"excludedPorts": []}}}})
    back = client.read(rid)
    assert payload_hash(back.payload) != digest and back.marker_hash == digest
    assert parse_template(back.payload).ports.contains(7100)


def test_console_edit_turning_unsafe_checks_on_changes_the_hash(client, plan, fake):
    rid, _, digest = _push(client, plan)
    fake.edit_template(rid, {"checks": {"unsafe": True}})
    assert payload_hash(client.read(rid).payload) != digest


def test_excluded_ports_read_as_csv_hash_like_the_array(client, plan, fake):
    rid, _, digest = _push(client, plan)
    fake.edit_template(rid, {"discovery": {"service": {"tcp": {"excludedPorts": "7100"}}}})
    assert payload_hash(client.read(rid).payload) == digest


def test_a_3_0_console_gets_arrays_even_where_it_showed_a_csv_string(client, plan, fake):
    rid, payload, digest = _push(client, plan)
    fake.edit_template(rid, {"discovery": {"service": {"tcp": {"excludedPorts": "7100"}}}})
    client.update(rid, NAME, payload, managed_marker(NAME, digest))
    assert isinstance(fake.template(rid)["discovery"]["service"]["tcp"]["excludedPorts"], list)


def test_a_built_in_template_is_copied_not_edited(client, plan, fake):
    before = fake.template("full-audit-without-web-spider")
    payload = render_template(plan.get(NAME))
    digest = payload_hash(payload)
    new_id = client.update("full-audit-without-web-spider", NAME, payload, managed_marker(NAME, digest))
    assert new_id != "full-audit-without-web-spider" and fake.template("full-audit-without-web-spider") == before
    assert client.read(new_id).marker_hash == digest


def test_create_copies_the_configured_base_template(fake, credentials, plan, scanner_config):
    c = InsightVMClient(scanner_config(fake.url, fake.ca_bundle, base_template="full-audit-without-web-spider"))
    rid, _, digest = _push(c, plan)
    stored = fake.template(rid)
    assert stored["discovery"]["asset"]["treatTcpResetAsAsset"] is True
    assert payload_hash(c.read(rid).payload) == digest


def test_delete_removes_the_template(client, plan, fake):
    rid, _, _ = _push(client, plan)
    client.delete(rid)
    assert rid not in fake.templates


def test_reading_a_missing_template_is_an_error_naming_the_scanner(client):
    with pytest.raises(ScannerError, match="ivm-test.*404") as e:
        client.read("nope")
    assert e.value.status == 404 and not e.value.transient


@pytest.mark.fixtures
def test_every_body_the_client_sent_validates(client, plan, fake, validator):
    rid, payload, digest = _push(client, plan)
    fake.edit_template(rid, {"discovery": {"service": {"tcp": {"excludedPorts": "7100"}}}})
    client.update(rid, NAME, payload, managed_marker(NAME, digest))
    client.update("discovery", "discovery", render_template(plan.get("discovery")),
                  managed_marker("discovery", digest))
    assert len(fake.bodies) == 3
    for method, path, body in fake.bodies:
        assert validator.errors("ScanTemplate", body) == [], (method, path)


def test_tls_is_verified_by_default(fake, credentials, scanner_config):
    c = InsightVMClient(scanner_config(fake.url, None))
    with pytest.raises(ScannerError, match="TLS") as e:
        c.list_managed()
    assert not e.value.transient


def test_missing_credentials_name_the_environment_variable(fake, monkeypatch, scanner_config):
    monkeypatch.delenv("SG_TEST_IVM_USER", raising=False)
    with pytest.raises(ScannerError, match="SG_TEST_IVM_USER"):
        InsightVMClient(scanner_config(fake.url, fake.ca_bundle))
