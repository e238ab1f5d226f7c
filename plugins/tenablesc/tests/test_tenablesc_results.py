"""`scanguard audit --vendor tenablesc`: Security Center downloads scan results as .nessus files,
read host by host by the Tenable library's parser, their policy read back from the Policy section
(as Security Center writes it: policy_name, policy_description, the default port list spelled out)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli.app import app

runner = CliRunner()


def _with_host(policy_xml: str, ip: str) -> str:
    host = (f'<ReportHost name="{ip}"><HostProperties><tag name="host-ip">{ip}</tag></HostProperties>'
            f'<ReportItem port="7100" svc_name="unknown" protocol="tcp" severity="0" pluginID="11219" '
            f'pluginName="Nessus SYN scanner" pluginFamily="Port scanners"/></ReportHost>')
    return policy_xml.replace("</NessusClientData_v2>", f'<Report name="nightly">{host}</Report></NessusClientData_v2>')


@pytest.mark.fixtures
def test_a_payment_terminal_scanned_with_the_recorded_security_center_policy_is_a_violation(
        tmp_path, fixtures_dir, example_workspace):
    recorded = (fixtures_dir / "tenablesc" / "sc_policy_export.nessus").read_text()
    path = tmp_path / "sc-scan.nessus"
    path.write_text(_with_host(recorded, "10.20.50.7"))
    r = runner.invoke(app, ["audit", str(path), "--vendor", "tenablesc", "--workspace", str(example_workspace),
                            "--json"])
    assert r.exit_code == 3, r.output
    doc = json.loads(r.stdout)
    assert doc["vendor"] == "tenablesc" and doc["policy"] == "Example-Policy" and doc["hosts_scanned"] == 1
    assert any(x["device"] == "pos-terminal" and "7100" in x["message"] for x in doc["results"])


def test_an_export_from_elsewhere_is_refused_with_a_clear_message(tmp_path, example_workspace):
    path = tmp_path / "scan.nessus"
    path.write_text("<NessusClientData_v2><Policy><policyName>x</policyName></NessusClientData_v2>")
    r = runner.invoke(app, ["audit", str(path), "--vendor", "tenablesc", "--workspace", str(example_workspace)])
    assert r.exit_code == 2 and "Traceback" not in r.output
