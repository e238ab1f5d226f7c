"""`scanguard audit --vendor tenableio`: Tenable VM exports scans as .nessus files, read host by
host by the Tenable library's parser, their policy read back from the Policy section."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard import compile_plan, load_workspace
from scanguard.cli.app import app
from scanguard_tenable_policy import render_document, render_policy_file
from scanguard_tenableio.plugin import TENABLEIO

runner = CliRunner()


def _host(ip: str) -> str:
    # results are evidence of what was probed: the finding is on a port no profile excludes
    return (f'<ReportHost name="{ip}"><HostProperties><tag name="host-ip">{ip}</tag></HostProperties>'
            f'<ReportItem port="22" svc_name="ssh" protocol="tcp" severity="0" pluginID="11219" '
            f'pluginName="Nessus SYN scanner" pluginFamily="Port scanners"/></ReportHost>')


def _export(policy_xml: str, *hosts: str) -> str:
    return policy_xml.replace("</NessusClientData_v2>", '<Report name="nightly">' + "".join(hosts)
                              + "</Report></NessusClientData_v2>")


def test_a_scan_with_the_pushed_policy_is_clean(tmp_path, example_workspace):
    ct = compile_plan(load_workspace(example_workspace)).get("discovery@infusion")
    path = tmp_path / "scan.nessus"
    path.write_text(_export(render_policy_file(render_document(ct)), _host("10.20.61.7")))
    r = runner.invoke(app, ["audit", str(path), "--vendor", "tenableio", "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["vendor"], doc["policy"], doc["hosts_scanned"], doc["violations"]) == (
        "tenableio", "discovery@infusion", 1, 0)


@pytest.mark.fixtures
def test_a_fragile_device_scanned_with_tenable_vms_recorded_policy_is_a_violation(tmp_path, fixtures_dir,
                                                                                   example_workspace):
    recorded = (fixtures_dir / "nessus" / "policy-export.nessus").read_text()  # a Tenable VM export
    path = tmp_path / "scan.nessus"
    path.write_text(_export(recorded, _host("10.20.50.7")))  # a payment terminal
    r = runner.invoke(app, ["audit", str(path), "--vendor", "tenableio", "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 3, r.output
    doc = json.loads(r.stdout)
    assert doc["violations"] >= 1 and any(x["device"] == "pos-terminal" for x in doc["results"])


@pytest.mark.fixtures
def test_hosts_of_a_real_export_are_streamed(fixtures_dir):
    path = next(iter(sorted((fixtures_dir / "results" / "nessus").glob("*.nessus"))))
    with path.open("rb") as f:
        hosts = list(TENABLEIO.parse_results(f))
    assert hosts and all(h.address for h in hosts)
