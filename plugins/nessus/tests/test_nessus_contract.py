"""The contract is with the real product: the Nessus client replayed against the recorded real
responses (../shared/fixtures/nessus and tenableio), and the project's fake held to the same shapes."""

from __future__ import annotations

import io
import json
import re

import pytest
from lxml import etree

from scanguard import ScannerConfig, compile_plan, load_workspace, violations
from scanguard_nessus.client import NessusClient
from scanguard_nessus.plugin import NESSUS, parse
from scanguard_tenable_policy import PORT_SCANNER_FAMILY, read_selection
from scanguard_testbed_scanners.nessus import FakeNessus
from tests.fakes.replay import ReplayServer, load_exchanges

pytestmark = pytest.mark.fixtures


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("RK_A", "replay-access")
    monkeypatch.setenv("RK_S", "replay-secret")


def _client(url: str) -> NessusClient:
    return NessusClient(ScannerConfig(name="replay", type="nessus", url=url, timeout_s=5,
                                      credentials={"access_key": "RK_A", "secret_key": "RK_S"}))


def _templates(fixtures_dir) -> dict:
    """GET /editor/policy/templates is not recorded; its records are built from recorded values
    (the advanced editor's uuid, name and title; the basic uuid of policy-details.json)."""
    editor = json.loads((fixtures_dir / "nessus" / "editor-template-advanced.json").read_text())
    details = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    return {"templates": [{"uuid": editor["uuid"], "name": editor["name"], "title": editor["title"]},
                          {"uuid": details["uuid"], "name": "basic", "title": "Basic Network Scan"}]}


def test_create_configure_and_delete_replay_the_recorded_exchange(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "configure_policy.json")
    post, get1, put, get2, delete = interactions
    with ReplayServer(interactions, match_body=True) as replay:
        c = _client(replay.url)
        pid = c.create_policy(post["request_body"])
        assert pid == "13329"
        first = c.get_policy(pid)
        c.put_policy(pid, put["request_body"])  # the recorded 200 with an empty body
        second = c.get_policy(pid)
        c.delete_policy(pid)
        assert replay.done(), replay.mismatches
    assert set(first) == set(second) == {"settings", "uuid"}
    # a policy as GET /policies/{id} shows it: family state unknown, so no family counts as off,
    # and which port scanners run is unknown, so all of them do
    t = parse(second)
    assert t.checks.enabled and not t.checks.excluded_categories & {"dos", "brute-force", "exploit", "web-crawl"}
    assert t.ports.udp and not {v for v in t.checks.excluded_vendor_checks if v.kind == "family"}


def test_create_and_delete_replay_the_recorded_exchange(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "create_policy.json")
    with ReplayServer(interactions, match_body=True) as replay:
        c = _client(replay.url)
        assert c.create_policy(interactions[0]["request_body"]) == "13211"
        c.delete_policy("13211")  # the recorded 200 with an empty body
        assert replay.done(), replay.mismatches


def test_the_recorded_policy_list_with_null_descriptions(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "policy_list.json")
    listed = interactions[1]["response_body"]["policies"]
    assert any(p["description"] is None for p in listed)
    with ReplayServer(interactions) as replay:
        c = _client(replay.url)
        pid = c.create_policy(interactions[0]["request_body"])
        assert c.list_managed() == []  # none carries scanguard's marker
        c.delete_policy(pid)
        assert replay.done(), replay.mismatches


def _read_back_interactions(fixtures_dir, policy_id: int) -> list[dict]:
    details = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    editor = json.loads((fixtures_dir / "nessus" / "editor-template-advanced.json").read_text())
    export = (fixtures_dir / "nessus" / "policy-export.nessus").read_bytes()
    return [
        {"method": "GET", "path": f"/policies/{policy_id}", "status": 200, "response_body": details},
        {"method": "GET", "path": f"/editor/policy/{policy_id}", "status": 200, "response_body": editor},
        {"method": "GET", "path": f"/policies/{policy_id}/export", "status": 200, "response_body": export},
        {"method": "GET", "path": "/editor/policy/templates", "status": 200, "response_body": _templates(fixtures_dir)},
    ]


def test_a_policy_is_read_back_from_the_recorded_details_editor_and_export(fixtures_dir, keys):
    with ReplayServer(_read_back_interactions(fixtures_dir, 7)) as replay:
        back = _client(replay.url).read("7")
        assert replay.done(), replay.mismatches
    doc = back.payload
    assert not back.managed and doc["template"] == "basic"
    # the editor shows every family enabled; the export shows two disabled: the more enabled reading wins
    assert doc["disabled_families"] == [] and not doc["all_check_families_off"]
    # port scanners from the export: SYN, ping and the netstat scanners run; TCP and UDP do not
    assert (doc["settings"]["syn_scanner"], doc["settings"]["tcp_scanner"], doc["settings"]["udp_scanner"]) == (
        "yes", "no", "no")
    t = parse(doc)
    assert t.ports.contains(7100) and t.checks.enabled  # unscanned_closed "no": every port may be probed


def test_a_recorded_real_policy_is_never_taken_for_a_safe_one(fixtures_dir, keys, example_workspace):
    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@infusion")
    with ReplayServer(_read_back_interactions(fixtures_dir, 7)) as replay:
        back = _client(replay.url).read("7")
    kinds = {v.kind for v in violations(parse(back.payload), ct.constraints, vendor="nessus")}
    assert {"excluded_ports", "excluded_checks"} <= kinds


def test_an_editor_that_cannot_be_read_leaves_every_family_enabled(fixtures_dir, keys, example_workspace):
    interactions = _read_back_interactions(fixtures_dir, 7)
    interactions[1] = {"method": "GET", "path": "/editor/policy/7", "status": 404, "response_body": {"error": "x"}}
    interactions[2] = {"method": "GET", "path": "/policies/7/export", "status": 404, "response_body": {"error": "x"}}
    with ReplayServer(interactions) as replay:
        back = _client(replay.url).read("7")
        assert replay.done(), replay.mismatches
    doc = back.payload
    assert doc["disabled_families"] == [] and doc["settings"]["udp_scanner"] == "yes"  # every port scanner runs


# --- the fake answers in the recorded shapes ----------------------------------------------------

@pytest.fixture
def fake_client(monkeypatch):
    with FakeNessus(tls=False) as fake:
        monkeypatch.setenv("RK_A", fake.access_key)
        monkeypatch.setenv("RK_S", fake.secret_key)
        yield fake, _client(fake.url)


def _pushed(fake, client, example_workspace) -> str:
    from scanguard import managed_marker, payload_hash

    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@infusion")
    payload = NESSUS.render(ct)
    return client.create(ct.name, payload, managed_marker(ct.name, payload_hash(payload)))


def test_the_fakes_policy_has_the_recorded_keys(fixtures_dir, fake_client, example_workspace):
    fake, client = fake_client
    rid = _pushed(fake, client, example_workspace)
    details = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    got = client.get_policy(rid)
    assert set(got) == set(details)
    assert set(details["settings"]) <= set(got["settings"])


def test_the_fakes_policy_list_has_the_recorded_keys(fixtures_dir, fake_client, example_workspace):
    fake, client = fake_client
    _pushed(fake, client, example_workspace)
    recorded = load_exchanges(fixtures_dir / "tenableio" / "policy_list.json")[1]["response_body"]["policies"][0]
    assert set(client.list_policies()[0]) == set(recorded)


def test_the_fakes_editor_has_the_recorded_shape(fixtures_dir, fake_client, example_workspace):
    fake, client = fake_client
    rid = _pushed(fake, client, example_workspace)
    recorded = json.loads((fixtures_dir / "nessus" / "editor-template-advanced.json").read_text())
    got = client.http.json("GET", f"/editor/policy/{rid}")
    assert set(got) == set(recorded)
    entry = got["plugins"]["families"]["Denial of Service"]
    assert set(entry) == set(recorded["plugins"]["families"]["Denial of Service"]) and entry["status"] == "disabled"
    assert PORT_SCANNER_FAMILY not in got["plugins"]["families"]  # as recorded: the editor does not show it


def _shape(el: etree._Element, depth: int = 0) -> set[str]:
    """Element paths of an XML tree (to compare structures, not values)."""
    out = {el.tag}
    for child in el:
        out |= {f"{el.tag}/{p}" for p in _shape(child, depth + 1)}
    return out


def test_the_fakes_export_has_the_recorded_structure(fixtures_dir, fake_client, example_workspace):
    fake, client = fake_client
    rid = _pushed(fake, client, example_workspace)
    recorded = etree.fromstring((fixtures_dir / "nessus" / "policy-export.nessus").read_bytes())
    body = client.http.content("GET", f"/policies/{rid}/export")
    assert _shape(etree.fromstring(body)) == _shape(recorded)
    sel = read_selection(io.BytesIO(body), "fake export")
    assert set(sel.families) == set(fake.families) | {PORT_SCANNER_FAMILY}
    assert sel.port_scanners() == {pid for pid, state in fake.port_scanners_running(rid).items() if state == "enabled"}
    names = re.findall(rb"<name>(.*?)</name>", body)
    assert names == [b"template_policy", b"wizard_uuid", b"name"]  # the recorded ServerPreferences, nothing more
