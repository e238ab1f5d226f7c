"""check judges what a scan will reach: its targets less --exclude (as nmap's), and less the
compiled template's own exclusions where the scanner that runs the template keeps them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app
from tests.helpers import make_workspace

runner = CliRunner()

MONITOR = """
id: icu-monitor
name: ICU patient monitors
policy: never
location: {hosts: [10.1.2.3]}
risk_acceptance:
  accepted_by: Dr. A. Weber
  accepted_on: 2026-01-01
  expires: 2099-01-01
  reason: life support
  compensating_controls: [ACL]
"""
PUMP = """
id: pump
name: Infusion pumps
policy: restricted
location: {cidrs: [10.1.3.0/28]}
constraints:
  excluded_ports:
    - {ports: 80/tcp, reason: the web server hangs}
"""
NMAP_ONLY = """
[workspace]
state = "state.db"

[scanners.nmap-local]
type = "nmap"
"""
NMAP_AND_NESSUS = NMAP_ONLY + """
[scanners.nessus-main]
type = "nessus"
url = "https://127.0.0.1:8834"
credentials = { access_key = "SG_REACH_A", secret_key = "SG_REACH_S" }
"""


@pytest.fixture(autouse=True)
def every_plugin():
    common.reset_plugins(None)
    yield
    common.reset_plugins(None)


def check(root, *args: str):
    r = runner.invoke(app, ["check", "--template", "full-audit", "-w", str(root), "--json", *args])
    return r.exit_code, {x["code"] for x in json.loads(r.stdout)["results"]} if r.stdout else set(), r


def test_a_slash_8_against_a_template_that_excludes_the_never_scan_devices_is_go_where_the_scanner_keeps_it(tmp_path):
    make_workspace(tmp_path, {"m.yaml": MONITOR, "p.yaml": PUMP}, toml=NMAP_ONLY)
    code, codes, _ = check(tmp_path, "--targets", "10.0.0.0/8")
    assert code == 0 and codes == {"template-excludes"}  # nmap writes --exclude into every template


def test_the_template_exclusion_does_not_count_where_a_scanner_that_gets_it_cannot_keep_it(tmp_path):
    make_workspace(tmp_path, {"m.yaml": MONITOR, "p.yaml": PUMP}, toml=NMAP_AND_NESSUS)
    code, codes, r = check(tmp_path, "--targets", "10.0.0.0/8")
    assert code == 3 and {"never-scan", "restricted-device", "template-excludes-not-kept"} <= codes
    note = next(x for x in json.loads(r.stdout)["results"] if x["code"] == "template-excludes-not-kept")
    assert note["fix"] == "add --exclude 10.1.2.3,10.1.3.0/28"
    # the scanner that will run it keeps it: go
    code, codes, _ = check(tmp_path, "--targets", "10.0.0.0/8", "--scanner", "nmap-local")
    assert code == 0 and "template-excludes" in codes


def test_exclude_takes_addresses_out_of_the_targets_as_nmaps_does(tmp_path):
    make_workspace(tmp_path, {"m.yaml": MONITOR, "p.yaml": PUMP}, toml=NMAP_AND_NESSUS)
    code, codes, _ = check(tmp_path, "--targets", "10.0.0.0/8", "--exclude", "10.1.2.3,10.1.3.0-10.1.3.15")
    assert code == 0 and "never-scan" not in codes and "restricted-device" not in codes
    code, codes, _ = check(tmp_path, "--targets", "10.0.0.0/8", "--exclude", "10.1.2.3")
    assert code == 3 and "restricted-device" in codes and "never-scan" not in codes


def test_a_bad_exclude_is_invalid_input(tmp_path):
    make_workspace(tmp_path, {}, toml=NMAP_ONLY)
    r = runner.invoke(app, ["check", "--targets", "10.0.0.0/8", "--exclude", "10.1.2.300", "--template",
                            "full-audit", "-w", str(tmp_path), "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"].startswith("--exclude:")


def test_excluding_every_target_leaves_nothing_to_scan(tmp_path):
    make_workspace(tmp_path, {}, toml=NMAP_ONLY)
    code, codes, _ = check(tmp_path, "--targets", "10.1.2.0/24", "--exclude", "10.1.2.0/24")
    assert code == 3 and "no-targets" in codes
