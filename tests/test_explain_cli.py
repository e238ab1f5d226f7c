"""explain: each constraint with its values and its line; --host says why an address is or is
not reached; --vendor shows the vendor's setting that carries each constraint, found by asking
the vendor (rendering with and without it), not from a table in the core."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def every_plugin():
    common.reset_plugins(None)
    yield
    common.reset_plugins(None)


def explain(ws, *args: str) -> dict:
    r = runner.invoke(app, ["explain", *args, "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)["explanation"]


def views(doc: dict) -> dict[tuple[str, str], dict]:
    return {(c["provenance"]["profile"], c["provenance"]["item"]): c for c in doc["constraints"]}


def test_each_constraint_is_shown_with_its_values_and_its_line(example_workspace):
    doc = explain(example_workspace, "full-audit@payment-terminals")
    rate = views(doc)[("pos-terminal", "packets_per_second")]
    assert rate["value"] == "at most 100 packets/s"
    assert rate["template"] == "performance.packets_per_second = 100"
    lines = (example_workspace / "profiles" / "pos-terminal.yaml").read_text().splitlines()
    assert rate["file"] == "profiles/pos-terminal.yaml" and "packets_per_second: 100" in lines[rate["line"] - 1]
    port = views(doc)[("pos-terminal", "7100/tcp")]
    assert port["value"] == "7100/tcp never probed" and port["template"] == "ports leave out 7100/tcp"
    human = runner.invoke(app, ["explain", "full-audit@payment-terminals", "-w", str(example_workspace)]).stdout
    assert "rate packets_per_second: at most 100 packets/s" in human
    assert f"file:     profiles/pos-terminal.yaml:{rate['line']}" in human


def test_vendor_shows_the_setting_that_carries_each_constraint(example_workspace):
    nmap = views(explain(example_workspace, "full-audit@payment-terminals", "--vendor", "nmap"))
    assert nmap[("pos-terminal", "packets_per_second")]["settings"] == \
        ["argv: -PS22,80,139,443,445,3389 --max-rate 100 (without it: -PS22,80,139,443,445,3389)"]
    assert any("-p T:1-7099,7101-65535" in s for s in nmap[("pos-terminal", "7100/tcp")]["settings"])
    nessus = views(explain(example_workspace, "full-audit", "--vendor", "nessus"))
    port = nessus[("pos-terminal", "7100/tcp")]
    assert port["refused"] is None
    assert any(s.startswith("settings.portscan_range: ") and "7101-65535" in s for s in port["settings"])


def test_vendor_says_when_it_refuses_the_template(example_workspace):
    doc = explain(example_workspace, "full-audit@imaging", "--vendor", "nessus")
    delay = views(doc)[("imaging-cr-reader", "probe_delay_ms")]
    assert delay["settings"] == [] and "cannot keep 100 ms between probes" in delay["refused"]


def test_host_never_scanned_is_not_reached_and_says_why(example_workspace):
    doc = explain(example_workspace, "full-audit", "--host", "10.20.60.17")
    assert doc["reached"] is False and doc["host_devices"] == ["patient-monitor-intellivue"]
    assert "taken out of its targets (patient-monitor-intellivue must never be scanned)" in doc["summary"]


def test_host_of_a_restricted_device_names_its_own_template(example_workspace):
    doc = explain(example_workspace, "full-audit", "--host", "10.20.50.5")
    assert doc["reached"] is False
    assert "pos-terminal is scanned only with full-audit@payment-terminals" in doc["summary"]
    own = explain(example_workspace, "full-audit@payment-terminals", "--host", "10.20.50.5")
    assert own["reached"] is True and own["host_devices"] == ["pos-terminal"]
    assert {c["provenance"]["profile"] for c in own["constraints"]} == {"pos-terminal"}
    assert "reaches 10.20.50.5, where pos-terminal is" in own["summary"]


def test_host_outside_a_group_templates_targets(example_workspace):
    doc = explain(example_workspace, "full-audit@payment-terminals", "--host", "10.99.0.1")
    assert doc["reached"] is False and "lies outside its targets (10.20.50.0/26, 10.30.8.21)" in doc["summary"]


def test_host_and_port_together_or_a_bad_address_are_invalid(example_workspace):
    for args in (["--host", "10.0.0.1", "--port", "80/tcp"], ["--host", "10.0.0.300"]):
        r = runner.invoke(app, ["explain", "full-audit", *args, "-w", str(example_workspace), "--json"])
        assert r.exit_code == 2 and json.loads(r.stdout)["status"] == "invalid"
