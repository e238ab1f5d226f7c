"""Single requests of the Nessus client (with `responses`): what each write sends."""

import json
import threading

import pytest
import responses

from scanguard import CompiledTemplate, ScannerConfig, ScanTemplate
from scanguard_nessus.client import NessusClient
from scanguard_nessus.plugin import NESSUS

URL = "https://nessus.example:8834"
MARKER = "scanguard:managed name=t sha256=" + "0" * 64
UUID = "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66"
FAMILIES = {"Denial of Service": {"id": 1, "count": 3, "status": "enabled"},
            "Web Servers": {"id": 2, "count": 9, "status": "enabled"},
            "General": {"id": 3, "count": 5, "status": "enabled"}}


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("NK_A", "access-value")
    monkeypatch.setenv("NK_S", "secret-value")
    return NessusClient(ScannerConfig(name="n1", type="nessus", url=URL,
                                      credentials={"access_key": "NK_A", "secret_key": "NK_S"}))


def _payload(**checks) -> dict:
    return NESSUS.render(CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", checks=checks)))


@responses.activate
def test_create_takes_the_uuid_and_families_from_the_scanners_editor(client):
    responses.get(f"{URL}/editor/policy/templates", json={"templates": [{"uuid": UUID, "name": "advanced"}]})
    responses.get(f"{URL}/editor/policy/templates/{UUID}", json={"plugins": {"families": FAMILIES}})
    responses.get(f"{URL}/plugins/plugin/12345", json={"id": 12345, "name": "x", "family_name": "Web Servers"})
    responses.post(f"{URL}/policies", json={"policy_id": 7, "policy_name": "t"})
    payload = _payload(excluded_categories=["dos"], excluded_vendor_checks=["nessus:plugin:12345"])
    assert client.create("t", payload, MARKER) == "7"
    sent = json.loads(responses.calls[-1].request.body)
    assert sent["uuid"] == UUID
    assert sent["plugins"] == {"Denial of Service": {"status": "disabled"},
                               "Web Servers": {"status": "mixed", "individual": {"12345": "disabled"}},
                               "General": {"status": "enabled"}}
    assert sent["settings"]["name"] == "t"
    assert sent["settings"]["description"].splitlines()[-2:] == ["scanguard:plugins-off 12345", MARKER]
    assert responses.calls[-1].request.headers["X-ApiKeys"] == "accessKey=access-value; secretKey=secret-value"


@responses.activate
def test_update_puts_the_whole_document_back_with_every_family_and_stray_plugins_on_again(client):
    live = {"uuid": UUID, "settings": {"name": "t", "description": "old", "ssh_port": "22", "safe_checks": "no"}}
    editor = {"plugins": {"families": {**FAMILIES, "Web Servers": {"id": 2, "count": 9, "status": "mixed"}}}}
    responses.get(f"{URL}/policies/3", json=live)
    responses.get(f"{URL}/editor/policy/3", json=editor)
    responses.get(f"{URL}/editor/policy/3/families/2", json={"plugins": [{"id": 44, "name": "y", "status": "disabled"}]})
    responses.put(f"{URL}/policies/3", body="")
    client.update("3", "t", _payload(excluded_categories=["dos"]), MARKER)
    put = next(c for c in responses.calls if c.request.method == "PUT")
    sent = json.loads(put.request.body)
    assert sent["uuid"] == UUID and sent["settings"]["ssh_port"] == "22" and sent["settings"]["safe_checks"] == "yes"
    assert sent["settings"]["description"] == MARKER
    assert sent["plugins"]["Denial of Service"] == {"status": "disabled"}
    assert sent["plugins"]["Web Servers"] == {"status": "enabled"}  # the hand-made mixed state is undone
    assert sent["plugins"]["General"] == {"status": "enabled"}


@responses.activate
def test_an_editor_template_the_scanner_lacks_is_a_clear_error(client):
    responses.get(f"{URL}/editor/policy/templates", json={"templates": [{"uuid": "u", "name": "basic"}]})
    with pytest.raises(Exception, match="no policy editor template 'advanced'.*basic"):
        client.create("t", _payload(), MARKER)


@responses.activate
def test_null_policy_list(client):
    responses.get(f"{URL}/policies", json={"policies": None})
    assert client.list_managed() == []


@responses.activate
def test_list_reads_the_marker_from_the_description(client):
    responses.get(f"{URL}/policies", json={"policies": [
        {"id": 1, "name": "t", "description": f"x\n{MARKER}"}, {"id": 2, "name": "other", "description": None}]})
    (obj,) = client.list_managed()
    assert obj.managed and obj.marker_hash == "0" * 64 and obj.remote_id == "1"


@responses.activate
def test_non_json_answer_is_a_clear_error(client):
    responses.get(f"{URL}/policies", body="<html>proxy</html>", status=200)
    with pytest.raises(Exception, match="not JSON"):
        client.list_policies()


def test_only_rendered_documents_are_written(client):
    with pytest.raises(ValueError, match="tenable-policy/1"):
        client.create("t", {"uuid": UUID, "settings": {}}, MARKER)


def test_missing_credential_names_the_variable(monkeypatch):
    monkeypatch.delenv("NK_A", raising=False)
    with pytest.raises(Exception, match="NK_A"):
        NessusClient(ScannerConfig(name="n1", type="nessus", url=URL,
                                   credentials={"access_key": "NK_A", "secret_key": "NK_S"}))


def test_fake_keeps_state_safely_across_threads(monkeypatch):
    from scanguard_testbed_scanners.nessus import FakeNessus

    with FakeNessus(tls=False) as fake:
        monkeypatch.setenv("NK_A", fake.access_key)
        monkeypatch.setenv("NK_S", fake.secret_key)
        cfg = ScannerConfig(name="n1", type="nessus", url=fake.url,
                            credentials={"access_key": "NK_A", "secret_key": "NK_S"})
        ids, errors = [], []

        def make(i):
            try:
                ids.append(int(NessusClient(cfg).create(f"p{i}", _payload(), MARKER)))
            except Exception as e:  # collected: an assertion in a thread would be lost
                errors.append(e)

        threads = [threading.Thread(target=make, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(ids) == list(range(1, 13)) and len(fake.policies) == 12
