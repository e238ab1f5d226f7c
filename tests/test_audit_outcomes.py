"""`scanguard audit`: an audit that cannot judge is "undetermined" (exit 3), never clean; the
results themselves prove what was probed (a finding on an excluded port or from an excluded check
of a host a constraint covers is a violation, with the evidence); nmap exports are judged by the
command line they record."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard import compile_plan, load_workspace
from scanguard.audit import audit_export
from scanguard.cli.app import app
from scanguard.plugin.manager import load_plugins
from tests.helpers import make_workspace

runner = CliRunner()


def _item(port: int, plugin: str = "11219", name: str = "Nessus SYN scanner", family: str = "Port scanners",
          proto: str = "tcp") -> str:
    return (f'<ReportItem port="{port}" svc_name="x" protocol="{proto}" severity="0" pluginID="{plugin}" '
            f'pluginName="{name}" pluginFamily="{family}"/>')


def _host(ip: str, *items: str) -> str:
    return (f'<ReportHost name="{ip}"><HostProperties><tag name="host-ip">{ip}</tag></HostProperties>'
            + "".join(items or (_item(443),)) + "</ReportHost>")


def _nessus(policy_xml: str | None, *hosts: str) -> str:
    report = '<Report name="nightly">' + "".join(hosts) + "</Report>"
    if policy_xml is None:
        return f'<?xml version="1.0" ?><NessusClientData_v2>{report}</NessusClientData_v2>'
    return policy_xml.replace("</NessusClientData_v2>", report + "</NessusClientData_v2>")


@pytest.fixture(scope="module")
def vendors():
    pm = load_plugins()
    return {name: pm.vendor(name) for name in ("nessus", "nmap")}


@pytest.fixture(scope="module")
def rack_policy(example_workspace, vendors):
    """The policy file scanguard renders for the infusion racks (10.20.61.0/25: 80 and 443 excluded)."""
    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@infusion")
    return vendors["nessus"].artifacts(ct)[f"{ct.name}.policy.nessus"]


def _audit(ws, path, vendor="nessus"):
    r = runner.invoke(app, ["audit", str(path), "--vendor", vendor, "--workspace", str(ws), "--json"])
    assert r.stdout.strip().startswith("{"), r.output
    return r.exit_code, json.loads(r.stdout)


def test_an_export_without_a_policy_on_the_payment_terminal_is_undetermined(tmp_path, example_workspace):
    path = tmp_path / "no-policy.nessus"
    path.write_text(_nessus(None, _host("10.20.50.7")))
    code, doc = _audit(example_workspace, path)
    assert code == 3 and doc["outcome"] == "undetermined" and doc["violations"] == 0
    assert doc["undetermined"] and "pos-terminal" in doc["undetermined"][0]


def test_an_unreadable_port_range_is_undetermined(tmp_path, example_workspace, rack_policy):
    xml = rack_policy.split("<name>port_range</name><value>")
    unreadable = xml[0] + "<name>port_range</name><value>T:0-65535" + xml[1][xml[1].index("</value>"):]
    path = tmp_path / "range.nessus"
    path.write_text(_nessus(unreadable, _host("10.20.61.7", _item(22))))
    code, doc = _audit(example_workspace, path)
    assert code == 3 and doc["outcome"] == "undetermined", doc


def test_a_result_on_an_excluded_port_is_a_violation_with_evidence(tmp_path, example_workspace, rack_policy):
    path = tmp_path / "probed.nessus"
    path.write_text(_nessus(rack_policy, _host("10.20.61.7", _item(22), _item(443, "22964", "Service Detection",
                                                                             "Service detection"))))
    code, doc = _audit(example_workspace, path)
    assert code == 3 and doc["outcome"] == "violations"
    (hit,) = [r for r in doc["results"] if r["code"] == "probed_excluded_port"]
    assert hit["device"] == "infusion-rack-agilia"
    assert "443/tcp" in hit["message"] and "10.20.61.7" in hit["message"] and "22964" in hit["message"]
    assert "ICSMA-21-355-01" in hit["message"]


def test_an_excluded_port_that_holds_everywhere_is_a_violation_on_any_host(tmp_path, example_workspace, rack_policy):
    path = tmp_path / "stray.nessus"
    path.write_text(_nessus(rack_policy, _host("192.0.2.44", _item(7100))))
    report = audit_export(load_workspace(example_workspace), load_plugins().vendor("nessus"), path)
    assert [(r.code, r.device) for r in report.violations] == [("probed_excluded_port", "pos-terminal")]
    assert "excluded everywhere" in report.violations[0].message


def test_the_rendered_policy_with_harmless_results_is_clean(tmp_path, example_workspace, rack_policy):
    path = tmp_path / "clean.nessus"
    path.write_text(_nessus(rack_policy, _host("10.20.61.7", _item(22), _item(502))))
    code, doc = _audit(example_workspace, path)
    assert code == 0 and doc["outcome"] == "clean" and not doc["undetermined"], doc


PRINTER = """
id: printer
name: Printer
location: {hosts: [10.0.2.9]}
policy: scan
constraints:
  excluded_checks:
    - vendor: {nessus: {plugin: [10180], family: [Denial of Service]}}
      reason: the ping plugin and DoS checks reboot it
"""


def test_a_result_from_an_excluded_check_is_a_violation(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"printer.yaml": PRINTER})
    path = tmp_path / "checks.nessus"
    path.write_text(_nessus(None, _host("10.0.2.9", _item(0, "10180", "Ping the remote host", "Port scanners"),
                                        _item(80, "99999", "Some flood", "Denial of Service"))))
    report = audit_export(load_workspace(ws), load_plugins().vendor("nessus"), path)
    hits = sorted(r.message.split(": the scan")[0] + " " + r.code for r in report.violations)
    assert [r.code for r in report.violations] == ["ran_excluded_check", "ran_excluded_check"], hits
    assert report.outcome == "violations"


def test_an_unreadable_policy_where_no_constraint_applies_is_clean(tmp_path):
    ws = make_workspace(tmp_path / "ws", {"printer.yaml": PRINTER})
    path = tmp_path / "elsewhere.nessus"
    path.write_text(_nessus(None, _host("192.0.2.1")))
    report = audit_export(load_workspace(ws), load_plugins().vendor("nessus"), path)
    assert report.outcome == "clean" and [r.code for r in report.results] == ["policy_unreadable"]


def test_the_text_report_says_undetermined(tmp_path, example_workspace):
    path = tmp_path / "no-policy.nessus"
    path.write_text(_nessus(None, _host("10.20.50.7")))
    r = runner.invoke(app, ["audit", str(path), "--workspace", str(example_workspace)])
    assert r.exit_code == 3 and "undetermined" in r.stderr


# --- nmap: the policy of an -oX export is the command line it records ---------------------------

def _nmap_xml(args: str | None, *hosts: str, scaninfo: str = "") -> str:
    attr = f' args="{args}"' if args is not None else ""
    return (f'<?xml version="1.0"?><!DOCTYPE nmaprun><nmaprun scanner="nmap"{attr} version="7.93">{scaninfo}'
            + "".join(hosts) + "</nmaprun>")


def _nmap_host(ip: str, *ports: tuple[int, str]) -> str:
    body = "".join(f'<port protocol="tcp" portid="{p}"><state state="{s}"/></port>' for p, s in ports)
    return f'<host><status state="up"/><address addr="{ip}" addrtype="ipv4"/><ports>{body}</ports></host>'


@pytest.mark.fixtures
def test_audit_reads_the_policy_of_real_nmap_exports(fixtures_dir, example_workspace):
    for path in sorted((fixtures_dir / "results" / "nmap").glob("*.xml")):
        code, doc = _audit(example_workspace, path, "nmap")
        assert doc["policy"] == "nmap-export", path.name
        # no -p: nmap's top 1000 ports, 7100 among them, which the payment terminal forbids everywhere
        assert code == 3 and any(r["code"] == "policy_excluded_ports" and "7100/tcp" in r["message"]
                                 for r in doc["results"]), doc


def test_an_nmap_export_of_the_rendered_template_is_clean(tmp_path, example_workspace, vendors):
    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@payment-terminals")
    from shlex import join
    from xml.sax.saxutils import quoteattr

    args = join(vendors["nmap"].render(ct)["argv"])
    path = tmp_path / "terminal.xml"
    path.write_text(_nmap_xml(None, _nmap_host("10.20.50.7", (443, "open"))).replace(
        'scanner="nmap"', f"scanner=\"nmap\" args={quoteattr(args)}"))
    code, doc = _audit(example_workspace, path, "nmap")
    assert code == 0 and doc["outcome"] == "clean", doc
    path.write_text(path.read_text().replace('portid="443"', 'portid="7100"'))
    code, doc = _audit(example_workspace, path, "nmap")
    assert code == 3 and [r["code"] for r in doc["results"]] == ["probed_excluded_port"]


def test_an_nmap_export_without_a_command_line_is_undetermined(tmp_path, example_workspace):
    path = tmp_path / "bare.xml"
    path.write_text(_nmap_xml(None, _nmap_host("10.20.50.7", (443, "open"))))
    code, doc = _audit(example_workspace, path, "nmap")
    assert code == 3 and doc["outcome"] == "undetermined", doc


def test_an_nmap_export_is_judged_by_the_ports_it_recorded(tmp_path, example_workspace):
    scaninfo = '<scaninfo type="connect" protocol="tcp" numservices="3" services="22,7100,8080"/>'
    path = tmp_path / "recorded.xml"
    path.write_text(_nmap_xml("nmap -n -sT -Pn --max-rate 50 -oX x.xml 10.20.50.7", scaninfo=scaninfo))
    code, doc = _audit(example_workspace, path, "nmap")
    assert code == 3 and any("7100/tcp" in r["message"] for r in doc["results"]), doc


@pytest.mark.parametrize("text", ["<nmaprun args='nmap -sY x'/>", "<nmaprun args='nmap -n -p 1-10'><host>",
                                  "not xml at all", "<other/>"])
def test_no_nmap_export_ends_in_a_traceback(tmp_path, example_workspace, text):
    path = tmp_path / "odd.xml"
    path.write_text(text)
    r = runner.invoke(app, ["audit", str(path), "--vendor", "nmap", "--workspace", str(example_workspace)])
    assert r.exit_code in (2, 3) and isinstance(r.exception, SystemExit), r.output  # no traceback
