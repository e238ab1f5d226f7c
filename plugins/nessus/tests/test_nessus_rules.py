"""nessusd.rules, Nessus's scanner-side exclusions (issue 8, item 8): `reject` rules for exactly
the never-scan devices and exactly the addresses of devices with forbidden ports, written as a
file an admin installs (Nessus has no API for them), read back and verified before it is
written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from scanguard import AddressSet, PortSet, ScannerExclusion, compile_plan, exclusion_gaps, load_workspace
from scanguard.cli.app import app
from scanguard.render import render_exclusions
from scanguard_nessus.plugin import NESSUS
from scanguard_nessus.rules import parse_rules, render_rules
from tests.helpers import make_workspace

PRINTERS = """
id: printers
name: Ward printers
location: {cidrs: [10.50.1.0/24]}
policy: scan
scope: everywhere
constraints:
  excluded_ports:
    - {ports: 9100-9107/tcp, reason: raw print jobs jam the feeder}
"""
MONITOR = """
id: monitor
name: Monitor
location: {hosts: [10.50.9.7]}
policy: never
risk_acceptance: {accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: restarts,
                  compensating_controls: [ACL-1]}
"""
TOML = """
[workspace]
name = "test"
state = "state.db"
templates = ["discovery", "full-audit"]  # fragile-safe asks for a packet rate and a delay: Nessus refuses it

[scanners.nessus-main]
type = "nessus"
url = "https://127.0.0.1:8834"
targets = ["10.50.0.0/16"]
"""


@pytest.fixture
def plan(tmp_path):
    make_workspace(tmp_path, {"printers.yaml": PRINTERS, "monitor.yaml": MONITOR}, toml=TOML)
    return compile_plan(load_workspace(tmp_path))


def _rules(plan) -> list[str]:
    (doc,) = render_exclusions(plan.exclusions, NESSUS)
    return [line for line in doc.payload.splitlines() if not line.startswith("#")]


def test_forbidden_ports_are_rejected_on_exactly_the_devices_not_the_scanner_network(plan):
    rules = _rules(plan)
    assert "reject 10.50.1.0/24:9100-9107" in rules
    assert not any(r.startswith("reject 10.50.0.0/16") for r in rules)


def test_the_general_template_artifact_rejects_exactly_the_devices_it_reaches(plan):
    files = NESSUS.artifacts(plan.get("full-audit"))
    rules = [r for r in files["full-audit.nessusd.rules"].splitlines() if not r.startswith("#")]
    assert rules == ["reject 10.50.9.7", "reject 10.50.1.0/24:9100-9107"]


def test_a_never_scan_device_is_rejected_on_every_port(plan):
    assert "reject 10.50.9.7" in _rules(plan)


def test_read_back_the_rules_block_exactly_what_the_profiles_require(plan):
    (doc,) = render_exclusions(plan.exclusions, NESSUS)
    held = parse_rules(doc.payload)
    assert exclusion_gaps(plan.exclusions, held) == []
    assert {str(h.addresses.items()) for h in held} == {"['10.50.1.0/24']", "['10.50.9.7']"}


def test_an_accept_rule_above_shadows_every_reject_below_it():
    text = "accept 10.50.0.0/16\nreject 10.50.9.7\n"
    need = ScannerExclusion(name="never:m", kind="never", addresses=AddressSet.parse(["10.50.9.7"]))
    assert parse_rules(text) == () and exclusion_gaps([need], parse_rules(text))


def test_a_host_name_in_a_rule_cannot_be_judged():
    with pytest.raises(ValueError, match="line 2"):
        parse_rules("# ours\nreject terminal.lan:7100\n")


def test_ipv6_port_exclusions_are_left_to_templates_and_check_but_ipv6_never_scan_is_kept():
    v6_ports = ScannerExclusion(name="ports:x", kind="ports", addresses=AddressSet.parse(["2001:db8::7"]),
                                ports=PortSet.parse("7100/tcp"))
    v6_never = ScannerExclusion(name="never:y", kind="never", addresses=AddressSet.parse(["2001:db8::/64"]))
    assert NESSUS.exclusions.enforceable((v6_ports, v6_never)) == (v6_never,)
    assert "reject 2001:db8::/64" in render_rules((v6_never,))["nessusd.rules"].splitlines()


def test_multi_line_reasons_stay_on_comment_lines(plan):
    e = plan.exclusions[0].model_copy(update={"reasons": tuple(
        r.model_copy(update={"reason": "line one\nreject 0.0.0.0/0"}) for r in plan.exclusions[0].reasons)})
    text = render_rules((e,))["nessusd.rules"]
    assert "reject 0.0.0.0/0" not in [line.strip() for line in text.splitlines()]


def test_render_out_writes_one_rules_file_for_the_scanner(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"printers.yaml": PRINTERS, "monitor.yaml": MONITOR}, toml=TOML)
    r = CliRunner().invoke(app, ["render", "--workspace", str(ws), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "out" / "nessus" / "exclusions" / "nessusd.rules").read_text()
    assert "reject 10.50.1.0/24:9100-9107" in text.splitlines()
    per_template = (tmp_path / "out" / "nessus" / "full-audit.nessusd.rules").read_text()
    assert "reject 10.50.1.0/24:9100-9107" in per_template.splitlines()
    assert "10.50.0.0/16" not in per_template


def test_render_exits_3_when_templates_are_refused_as_unsafe_for_nessus(example_workspace):
    r = CliRunner().invoke(app, ["render", "--vendor", "nessus", "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 3
    import json

    refused = json.loads(r.stdout)["errors"]
    assert refused and all(f["refused"] and ("between probes" in f["error"] or "no packet rate" in f["error"])
                           for f in refused)
    assert any("no packet rate" in f["error"] for f in refused)  # the payment terminals' 100 packets/s
