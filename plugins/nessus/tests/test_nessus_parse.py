"""Reading Nessus policies back: API documents, policy files and the Policy section of exports."""

import json

import pytest

from scanguard import PortSet, compile_plan, load_workspace, violations
from scanguard_nessus.plugin import NESSUS, parse
from scanguard_nessus.policy import parse_policy
from scanguard_nessus.portrange import default_ports, parse_range, render_range


def test_range_text_round_trips():
    ports = PortSet.parse("1-7099,7101-65535,53/udp,161/udp")
    assert parse_range(render_range(ports)) == ports


def test_range_prefix_holds_until_the_next_one():
    assert parse_range("T:1-10,20,U:53,67") == PortSet.parse("1-10,20,53/udp,67/udp")


def test_unprefixed_range_covers_tcp_and_udp():
    assert parse_range("80,443") == PortSet.parse("80,443,80/udp,443/udp")


def test_default_and_all():
    assert parse_range("all") == PortSet.all()
    assert default_ports().contains(80) and not default_ports().contains(6)
    assert default_ports().contains(7100)  # Nessus's default range probes the payment terminals' port


def test_a_bad_range_names_the_item():
    with pytest.raises(ValueError, match="70000"):
        parse_range("1-70000")


@pytest.mark.fixtures
def test_recorded_policy_details_read_conservatively(fixtures_dir):
    doc = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    t = parse(doc)
    # unscanned_closed "no": plugins may probe any port, so every port counts as probed
    assert t.ports == PortSet.all()
    assert t.checks.safe_only and t.discovery.port_scan == "syn"
    assert (t.performance.parallel_checks_per_host, t.performance.parallel_hosts, t.performance.timeout_s) == (5, 30, 5)
    assert t.discovery.tcp_ping and t.discovery.ping_ports.tcp == PortSet.all().tcp  # "built-in" ping ports


@pytest.mark.fixtures
def test_recorded_settings_with_unscanned_closed_use_the_range(fixtures_dir):
    doc = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    doc["settings"].update(unscanned_closed="yes", portscan_range="1-7099,7101-65535")
    t = parse(doc)
    assert not t.ports.contains(7100) and t.ports.contains(7101)


@pytest.mark.fixtures
@pytest.mark.parametrize("name", ["basic-network-scan.nessus", "web-app-tests.nessus"])
def test_policy_section_of_real_exports(fixtures_dir, name):
    t = parse(fixtures_dir / "results" / "nessus" / name)
    assert t.checks.safe_only
    assert t.ports == PortSet.all()  # both exports ran with unscanned_closed "no"


@pytest.mark.fixtures
def test_security_center_export_reads_its_spelled_out_range(fixtures_dir):
    doc = parse(fixtures_dir / "tenablesc" / "sc_policy_export.nessus")
    assert doc.name == "Example-Policy"
    assert doc.performance.parallel_hosts == 30


def test_every_example_policy_file_reads_like_its_document(example_workspace):
    for ct in compile_plan(load_workspace(example_workspace)).for_scanner("nessus-main"):
        from_json = NESSUS.parse(NESSUS.render(ct))
        from_xml = parse(NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"].encode())
        assert from_xml == from_json
        assert violations(from_json, ct.constraints, vendor="nessus") == []


def test_console_edits_read_back_as_less_safe(example_workspace):
    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@payment-terminals")
    doc = NESSUS.render(ct)
    doc["settings"]["safe_checks"] = "no"
    doc["plugins"].pop("Denial of Service")
    kinds = {v.kind for v in violations(parse(doc), ct.constraints, vendor="nessus")}
    assert kinds == {"excluded_checks", "safe_checks"} or "excluded_checks" in kinds


def test_missing_keys_take_nessus_defaults():
    t = parse_policy({"settings": {}})
    assert t.ports == PortSet.all()  # default range, unscanned ports open
    assert t.performance.parallel_hosts == 80 and t.checks.enabled


def test_a_document_without_settings_is_refused():
    with pytest.raises(ValueError):
        parse_policy({"settings": "nope"})


def test_policy_names_become_template_names():
    assert parse_policy({"settings": {"name": "Basic Network Scan"}}).name == "Basic-Network-Scan"
