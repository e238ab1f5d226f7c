"""The contract is with the real product: the Security Center client replayed against the recorded
real answers of ../shared/fixtures/tenablesc (a policy inside its envelope, a policy export, a
create request), and the fake held to the same shapes."""

from __future__ import annotations

import io
import json

import pytest
from lxml import etree

from scanguard import ScannerConfig, ScannerError, managed_marker, payload_hash
from scanguard_tenable_policy import PORT_SCANNER_FAMILY, PORT_SCANNERS, read_selection
from scanguard_tenable_policy.securitycenter import family_states
from scanguard_tenablesc.client import SecurityCenterClient
from scanguard_tenablesc.plugin import TENABLESC, parse
from tests.fakes.replay import ReplayServer

pytestmark = pytest.mark.fixtures


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("RK_A", "replay-access")
    monkeypatch.setenv("RK_S", "replay-secret")


def _client(url: str) -> SecurityCenterClient:
    return SecurityCenterClient(ScannerConfig(name="replay", type="tenablesc", url=url, timeout_s=5,
                                              credentials={"access_key": "RK_A", "secret_key": "RK_S"}))


def _recorded(fixtures_dir):
    sc = fixtures_dir / "tenablesc"
    return (json.loads((sc / "sc_policy_details.json").read_text()), (sc / "sc_policy_export.nessus").read_bytes(),
            json.loads((sc / "sc_policy_create_request.json").read_text()))


def test_the_recorded_policy_and_its_export_replay_through_the_client(fixtures_dir, keys):
    details, export, _ = _recorded(fixtures_dir)
    interactions = [
        {"method": "GET", "path": "/rest/policy/1000009", "status": 200, "response_body": details},
        {"method": "POST", "path": "/rest/policy/1000009/export", "status": 200, "response_body": export},
    ]
    with ReplayServer(interactions) as replay:
        c = _client(replay.url)
        policy = c.get_policy("1000009")
        selection = c.export_selection("1000009")
        assert replay.done(), replay.mismatches
    assert policy["id"] == "1000009" and policy["families"] == [] and policy["policyTemplate"]["name"] == "Advanced Scan"
    assert all(isinstance(v, str) for v in policy["preferences"].values())  # every value a string
    # the export: every family disabled but the port scanners, which run by their preferences
    assert {s for f, s in selection.families.items() if f != PORT_SCANNER_FAMILY} == {"disabled"}
    assert selection.port_scanners() == {"10180", "14272", "34220", "14274", "11219"}


def test_a_family_the_recorded_policy_does_not_list_is_disabled_as_its_export_shows(fixtures_dir):
    details, export, _ = _recorded(fixtures_dir)
    selection = read_selection(io.BytesIO(export), "sc_policy_export.nessus")
    catalog = {str(i): name for i, name in enumerate(selection.families, 1) if name != PORT_SCANNER_FAMILY}
    states, mixed = family_states(details["response"]["families"], catalog, lambda name: None)
    assert states == {name: selection.families[name] for name in catalog.values()} and mixed == {}


def test_the_recorded_policy_alone_is_read_as_the_less_safe(fixtures_dir):
    details, _, _ = _recorded(fixtures_dir)
    t = parse(details)  # the envelope as recorded: families by id only, port scanners unknown
    assert t.name == "Example-Policy" and t.checks.enabled and t.ports.contains(7100) and t.ports.udp


def test_an_answer_refused_as_invalid_is_no_refused_credential(keys):
    refusal = {"type": "regular", "response": [], "error_code": 146, "error_msg": "Invalid parameters: name",
               "warnings": [], "timestamp": 0}
    hidden = {**refusal, "error_code": 143, "error_msg": "Policy #5 not found"}
    interactions = [{"method": "POST", "path": "/rest/policy", "status": 403, "response_body": refusal},
                    {"method": "GET", "path": "/rest/policy/5", "status": 200, "response_body": hidden}]
    with ReplayServer(interactions) as replay:
        c = _client(replay.url)
        with pytest.raises(ScannerError) as e:
            c.create_policy({"name": ""})
        assert "error 146: Invalid parameters" in str(e.value) and "credential" not in str(e.value)
        with pytest.raises(ScannerError, match="error 143: Policy #5 not found"):
            c.get_policy("5")  # an error_code inside a 200 answer is an error too
        assert replay.done(), replay.mismatches


# --- the fake answers in the recorded shapes ----------------------------------------------------

def _pushed(client, plan) -> str:
    ct = plan.get("full-audit@infusion")
    payload = TENABLESC.render(ct)
    return client.create(ct.name, payload, managed_marker(ct.name, payload_hash(payload)))


def test_what_the_client_creates_has_the_recorded_create_requests_shape(fixtures_dir, client, fake, plan):
    _, _, recorded = _recorded(fixtures_dir)
    _pushed(client, plan)
    (sent,) = [b for m, p, b in fake.bodies if (m, p) == ("POST", "/rest/policy")]
    assert set(recorded) <= set(sent) and set(sent["preferences"]) <= set(recorded["preferences"])
    assert all(isinstance(v, str) for v in sent["preferences"].values())
    assert isinstance(sent["policyTemplate"]["id"], str)  # every id a string
    assert all(isinstance(f["id"], str) and f["state"] in ("enabled", "mixed") for f in sent["families"])


def test_the_fakes_policy_has_the_recorded_keys_inside_the_recorded_envelope(fixtures_dir, client, fake, plan):
    details, _, _ = _recorded(fixtures_dir)
    rid = _pushed(client, plan)
    raw = client.http.json("GET", f"/rest/policy/{rid}")
    assert set(raw) == set(details) and set(raw["response"]) == set(details["response"])
    assert set(raw["response"]["preferences"]) == set(details["response"]["preferences"])
    assert isinstance(raw["response"]["id"], str) and raw["error_code"] == 0


def _shape(el: etree._Element) -> set[str]:
    out = {el.tag}
    for child in el:
        out |= {f"{el.tag}/{p}" for p in _shape(child)}
    return out


def test_the_fakes_export_has_the_recorded_structure(fixtures_dir, client, fake, plan):
    _, export, _ = _recorded(fixtures_dir)
    rid = _pushed(client, plan)
    body = client.http.request("POST", f"/rest/policy/{rid}/export").content
    assert _shape(etree.fromstring(body)) == _shape(etree.fromstring(export))
    sel = read_selection(io.BytesIO(body), "fake export")
    assert set(sel.families) == set(fake.families.values())
    assert sel.port_scanners() == {p for p in PORT_SCANNERS if fake.port_scanners_running(rid)[p] == "enabled"}
