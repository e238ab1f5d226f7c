"""`scanguard audit EXPORT.nessus`: every way the scan that ran broke the profiles."""

import json
import re

import pytest
from typer.testing import CliRunner

from scanguard import compile_plan, load_workspace
from scanguard.audit import audit_export
from scanguard.cli.app import app
from scanguard_nessus.plugin import NESSUS

runner = CliRunner()


def _host(ip: str, mac: str = "") -> str:
    # port 22: no profile of the example excludes it (a finding on an excluded port proves a probe)
    mac_tag = f'<tag name="mac-address">{mac}</tag>' if mac else ""
    return (f'<ReportHost name="{ip}"><HostProperties><tag name="host-ip">{ip}</tag>{mac_tag}</HostProperties>'
            f'<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="0" pluginID="11219" '
            f'pluginName="Nessus SYN scanner" pluginFamily="Port scanners"/></ReportHost>')


def _with_hosts(policy_xml: str, *hosts: str) -> str:
    body = '<Report name="nightly">' + "".join(hosts) + "</Report>"
    return policy_xml.replace("</NessusClientData_v2>", body + "</NessusClientData_v2>")


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


@pytest.fixture
def safe_export(tmp_path, plan):
    ct = plan.get("full-audit@infusion")
    path = tmp_path / "safe.nessus"
    path.write_text(_with_hosts(NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"], _host("10.20.61.7")))
    return path


@pytest.fixture
def unsafe_export(tmp_path, fixtures_dir):
    text = (fixtures_dir / "results" / "nessus" / "basic-network-scan.nessus").read_text()
    text = text.replace('<ReportHost name="testphp.vulnweb.com">', '<ReportHost name="10.20.50.7">')
    text = re.sub(r'<tag name="host-ip">[^<]*</tag>', '<tag name="host-ip">10.20.50.7</tag>', text)
    path = tmp_path / "unsafe.nessus"
    path.write_text(text)
    return path


def test_scan_with_the_rendered_policy_is_clean(safe_export, example_workspace):
    r = runner.invoke(app, ["audit", str(safe_export), "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["violations"] == 0 and doc["hosts_scanned"] == 1 and doc["policy"] == "full-audit@infusion"


@pytest.mark.fixtures
def test_fragile_device_scanned_with_an_unsafe_policy(unsafe_export, example_workspace):
    r = runner.invoke(app, ["audit", str(unsafe_export), "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 3, r.output
    doc = json.loads(r.stdout)
    codes = {(x["code"], x["device"]) for x in doc["results"]}
    assert ("policy_excluded_ports", "pos-terminal") in codes  # the range included 7100
    assert ("device_excluded_ports", "pos-terminal") in codes
    assert ("device_excluded_checks", "pos-terminal") in codes
    assert any("7100/tcp" in x["message"] for x in doc["results"])


@pytest.mark.fixtures
def test_every_fixture_export_is_audited(fixtures_dir, example_workspace):
    ws = load_workspace(example_workspace)
    for path in sorted((fixtures_dir / "results" / "nessus").glob("*.nessus")):
        report = audit_export(ws, NESSUS, path)
        assert report.hosts_scanned == 1 and report.policy


def test_safe_checks_off_is_reported(tmp_path, plan, example_workspace):
    ct = plan.get("full-audit@infusion")
    xml = NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"].replace(
        "<name>safe_checks</name><value>yes</value>", "<name>safe_checks</name><value>no</value>")
    path = tmp_path / "unsafe-checks.nessus"
    path.write_text(_with_hosts(xml, _host("10.20.61.7")))
    report = audit_export(load_workspace(example_workspace), NESSUS, path)
    codes = {r.code for r in report.results}
    assert "safe_checks_off" in codes and "device_excluded_checks" in codes


def test_never_scan_device_among_the_hosts(tmp_path, plan, example_workspace):
    ct = plan.get("full-audit")
    path = tmp_path / "monitors.nessus"
    path.write_text(_with_hosts(NESSUS.artifacts(ct)["full-audit.policy.nessus"], _host("10.20.60.17")))
    report = audit_export(load_workspace(example_workspace), NESSUS, path)
    assert [(r.code, r.device) for r in report.violations] == [("never_scan_device_scanned", "patient-monitor-intellivue")]


def test_fingerprint_outside_its_profile_is_a_warning(tmp_path, plan, example_workspace):
    ct = plan.get("full-audit")
    path = tmp_path / "stray.nessus"
    path.write_text(_with_hosts(NESSUS.artifacts(ct)["full-audit.policy.nessus"], _host("10.99.0.1", "00:03:81:12:34:56")))
    report = audit_export(load_workspace(example_workspace), NESSUS, path)
    assert [(r.severity, r.code, r.device) for r in report.results] == [
        ("warning", "fingerprint_outside_profile", "pos-terminal")]


def test_hostile_export_is_refused_with_exit_2(tmp_path, example_workspace):
    path = tmp_path / "bomb.nessus"
    path.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    "<NessusClientData_v2>&b;</NessusClientData_v2>")
    r = runner.invoke(app, ["audit", str(path), "--workspace", str(example_workspace)])
    assert r.exit_code == 2
    assert "bomb.nessus" in r.stderr and "refused" in r.stderr


def test_missing_file_is_bad_input(tmp_path, example_workspace):
    r = runner.invoke(app, ["audit", str(tmp_path / "nope.nessus"), "--workspace", str(example_workspace)])
    assert r.exit_code == 2


@pytest.mark.fixtures
def test_defectdojo_format(unsafe_export, example_workspace):
    r = runner.invoke(app, ["audit", str(unsafe_export), "--workspace", str(example_workspace), "--format", "defectdojo"])
    assert r.exit_code == 3
    doc = json.loads(r.stdout)
    assert doc["findings"] and all(f["severity"] in ("High", "Medium") for f in doc["findings"])
