"""Single requests of the Nessus client (with `responses`), and the fake's thread safety."""

import json
import threading

import pytest
import responses

from scanguard import ScannerConfig, payload_hash
from scanguard_nessus.client import NessusClient, normalise, with_marker

URL = "https://nessus.example:8834"
MARKER = "scanguard:managed name=t sha256=" + "0" * 64


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("NK_A", "access-value")
    monkeypatch.setenv("NK_S", "secret-value")
    return NessusClient(ScannerConfig(name="n1", type="nessus", url=URL,
                                      credentials={"access_key": "NK_A", "secret_key": "NK_S"}))


@responses.activate
def test_create_posts_uuid_settings_plugins_and_the_marker(client):
    responses.post(f"{URL}/policies", json={"policy_id": 7, "policy_name": "t"})
    payload = {"uuid": "u", "settings": {"name": "x", "description": "why"}, "plugins": {"DNS": {"status": "disabled"}}}
    assert client.create("t", payload, MARKER) == "7"
    sent = json.loads(responses.calls[0].request.body)
    assert sent["uuid"] == "u" and sent["plugins"] == {"DNS": {"status": "disabled"}}
    assert sent["settings"]["name"] == "t" and sent["settings"]["description"] == f"why\n{MARKER}"
    assert responses.calls[0].request.headers["X-ApiKeys"] == "accessKey=access-value; secretKey=secret-value"
    assert payload["settings"]["name"] == "x"  # the caller's payload is not changed


@responses.activate
def test_update_puts_the_whole_document_back(client):
    live = {"uuid": "u", "settings": {"name": "t", "description": "old", "ssh_port": "22", "safe_checks": "no"},
            "plugins": {"Web Servers": {"status": "disabled"}}}
    responses.get(f"{URL}/policies/3", json=live)
    responses.put(f"{URL}/policies/3", json={})
    client.update("3", "t", {"uuid": "u", "settings": {"safe_checks": "yes", "description": ""},
                             "plugins": {"DNS": {"status": "disabled"}}}, MARKER)
    sent = json.loads(responses.calls[1].request.body)
    assert responses.calls[1].request.method == "PUT"
    assert sent["settings"]["ssh_port"] == "22" and sent["settings"]["safe_checks"] == "yes"
    assert sent["settings"]["description"] == MARKER
    assert sent["plugins"] == {"Web Servers": {"status": "enabled"}, "DNS": {"status": "disabled"}}


@responses.activate
def test_null_policy_list(client):
    responses.get(f"{URL}/policies", json={"policies": None})
    assert client.list_managed() == []


@responses.activate
def test_list_reads_the_marker_from_the_description(client):
    responses.get(f"{URL}/policies", json={"policies": [
        {"id": 1, "name": "t", "description": f"x\n{MARKER}"}, {"id": 2, "name": "other", "description": ""}]})
    (obj,) = client.list_managed()
    assert obj.managed and obj.marker_hash == "0" * 64 and obj.remote_id == "1"


@responses.activate
def test_non_json_answer_is_a_clear_error(client):
    responses.get(f"{URL}/policies", body="<html>proxy</html>", status=200)
    with pytest.raises(Exception, match="not JSON"):
        client.list_policies()


def test_normalise_keeps_what_render_writes():
    doc = {"uuid": "u", "settings": {"name": "t", "description": f"d\n{MARKER}", "ssh_port": "22"},
           "plugins": {"DNS": {"status": "enabled"}, "SCADA": {"status": "disabled"},
                       "Misc.": {"status": "mixed", "individual": {"5": "enabled"}}}}
    n = normalise(doc)
    assert "ssh_port" not in n["settings"] and n["settings"]["description"] == "d"
    assert n["plugins"] == {"SCADA": {"status": "disabled"}}
    assert payload_hash(n) == payload_hash(normalise(n))


def test_marker_replaces_an_old_one():
    assert with_marker(f"d\n{MARKER}", MARKER) == f"d\n{MARKER}"
    assert with_marker("", "") == ""


def test_missing_credential_names_the_variable(monkeypatch):
    monkeypatch.delenv("NK_A", raising=False)
    with pytest.raises(Exception, match="NK_A"):
        NessusClient(ScannerConfig(name="n1", type="nessus", url=URL,
                                   credentials={"access_key": "NK_A", "secret_key": "NK_S"}))


def test_fake_keeps_state_safely_across_threads(monkeypatch):
    from tests.fakes.nessus import FakeNessus

    with FakeNessus(tls=False) as fake:
        monkeypatch.setenv("NK_A", fake.access_key)
        monkeypatch.setenv("NK_S", fake.secret_key)
        cfg = ScannerConfig(name="n1", type="nessus", url=fake.url,
                            credentials={"access_key": "NK_A", "secret_key": "NK_S"})
        ids, errors = [], []

        def make(i):
            try:
                rid = NessusClient(cfg).create(f"p{i}", {"uuid": "ad629e16-03b6-8c1d-cef6-ef8c9dd3c658d24bd260ef5f9e66",
                                                        "settings": {}}, MARKER)
                ids.append(int(rid))
            except Exception as e:  # collected: an assertion in a thread would be lost
                errors.append(e)

        threads = [threading.Thread(target=make, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(ids) == list(range(1, 13)) and len(fake.policies) == 12
