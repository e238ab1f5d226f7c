"""Shipped personalities are valid, cite their advisories, and a bad file is named with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanguard.testbed import ConnectRule, PayloadRule, PersonalityError, ProbesRule, RateRule, load_personality, run_device
from scanguard.testbed.personality import load_personality_file, shipped_personalities


def test_at_least_five_personalities_are_shipped():
    assert len(shipped_personalities()) >= 5


def test_every_shipped_personality_cites_its_evidence():
    for p in shipped_personalities().values():
        assert p.evidence, p.id


@pytest.mark.fixtures
def test_advisories_cited_are_in_the_advisory_fixtures(fixtures_dir: Path):
    known = {a["id"] for a in json.loads((fixtures_dir / "advisories" / "scan_dos_advisories.json").read_text())}
    for p in shipped_personalities().values():
        cited = [e for e in p.evidence if e.startswith("ICS")]
        assert set(cited) <= known, p.id


def test_every_fragility_rule_kind_is_shipped():
    kinds = {type(r) for p in shipped_personalities().values() for r in p.fragility}
    assert kinds == {ConnectRule, PayloadRule, RateRule, ProbesRule}


def test_the_payment_terminal_dies_on_7100_and_reboots():
    p = load_personality("payment-terminal")
    assert ConnectRule(kind="connect", port=7100, protocol="tcp", reason=p.fragility[0].reason) in p.fragility
    assert p.recovery.mode == "reboot" and p.recovery.delay_s > 0


def test_the_infusion_rack_needs_a_reset():
    p = load_personality("infusion-rack")
    assert p.recovery.mode == "reset"
    assert any(isinstance(r, PayloadRule) and r.port == 80 for r in p.fragility)


def test_an_unknown_key_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\nname: Bad\nevidence: [X-1]\nservices:\n  - {port: 80}\n"
        "fragility:\n  - kind: connect\n    port: 80\n    colour: red\nrecovery: {mode: reset}\n"
    )
    with pytest.raises(PersonalityError, match=rf"{path}:9: fragility\[0\]\.colour: unknown key 'colour'"):
        load_personality_file(path)


def test_a_rule_on_a_port_nothing_listens_on_is_an_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nname: Bad\nevidence: [X-1]\nservices: [{port: 80}]\n"
                    "fragility: [{kind: connect, port: 81}]\nrecovery: {mode: reset}\n")
    with pytest.raises(PersonalityError, match="no service listens there"):
        load_personality_file(path)


def test_a_personality_file_can_be_loaded_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("id: mine\nname: Mine\nevidence: [INC-1]\nservices: [{port: 8000}]\nrecovery: {mode: reset}\n")
    assert load_personality(str(path)).id == "mine"


def test_an_unknown_personality_name_lists_the_shipped_ones():
    with pytest.raises(PersonalityError, match="payment-terminal"):
        load_personality("toaster")


def test_remapping_ports_moves_services_rules_and_heartbeat():
    p = load_personality("infusion-rack").remap_ports({80: 20080, 443: 20443})
    assert p.tcp_ports == (20080, 20443) and p.heartbeat == 20443
    assert p.fragility[0].port == 20080


def test_a_shipped_device_dies_on_one_version_detection_payload_and_nothing_else(personality, net):
    p = personality("monitor-gateway", delay_s=30)
    port = next(r.port for r in p.fragility if isinstance(r, PayloadRule))
    with run_device(p) as dev:
        net.connect(dev.address, port, b"GET / HTTP/1.0\r\n\r\n")
        net.connect(dev.address, port)
        assert net.eventually(lambda: dev.status().probes == 2) and dev.is_up()
        net.connect(dev.address, port, b"\r\n\r\n")
        assert dev.wait_for("down")
        assert [(e.rule, e.port) for e in dev.truth() if e.kind == "death"] == [("payload", port)]
