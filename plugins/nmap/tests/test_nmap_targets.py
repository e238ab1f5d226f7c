"""nmap's argument vectors carry exactly the addresses their templates exclude (issue 8, item 8):
never-scan devices and restricted devices of other templates, written so that nmap reads them
(CIDR blocks: nmap takes 10.0.0.10-10.0.0.29 for a host name), read back and verified by render."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scanguard import AddressSet, CompiledTemplate, SafetyError, Vendor, compile_plan, load_workspace
from scanguard.render import render_one
from scanguard_nmap.argv import render_argv
from scanguard_nmap.plugin import scanguard_vendors
from scanguard_nmap.run import build_argv
from scanguard_nmap.targets import parse_targets
from tests.helpers import make_workspace

NMAP = scanguard_vendors()[0]
TOML = """
[workspace]
name = "test"
state = "state.db"

[scanners.nmap-local]
type = "nmap"
targets = ["10.0.0.0/27"]
"""
MONITOR = """
id: monitor
name: Monitor
location: {ranges: [10.0.0.10-10.0.0.12]}
policy: never
risk_acceptance: {accepted_by: CMIO, accepted_on: 2026-01-01, expires: 2030-01-01, reason: restarts,
                  compensating_controls: [ACL-1]}
"""
PUMP = """
id: pump
name: Pump
location: {hosts: [10.0.0.20]}
policy: restricted
"""


@pytest.fixture
def plan(tmp_path):
    make_workspace(tmp_path, {"monitor.yaml": MONITOR, "pump.yaml": PUMP}, toml=TOML)
    return compile_plan(load_workspace(tmp_path))


def _exclude(argv: list[str]) -> str:
    return argv[argv.index("--exclude") + 1]


def test_the_general_template_excludes_exactly_never_and_restricted_devices(plan):
    ct = plan.get("full-audit")
    argv = render_argv(ct)
    assert _exclude(argv) == "10.0.0.10/31,10.0.0.12,10.0.0.20"
    aimed = parse_targets({"argv": argv})
    assert aimed.exclude == AddressSet.parse(["10.0.0.10-10.0.0.12", "10.0.0.20"]) == ct.targets.exclude
    assert aimed.include == AddressSet.parse(["10.0.0.0/27"])


def test_a_group_template_excludes_never_scan_devices_only(plan):
    argv = render_argv(plan.get("full-audit@pump"))
    assert _exclude(argv) == "10.0.0.10/31,10.0.0.12" and argv[-1] == "10.0.0.20"


@pytest.mark.nmap
def test_real_nmap_reads_the_exclusions_as_written(plan):
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    argv = render_argv(plan.get("full-audit"))
    # a list scan (-sL) with -n sends nothing: nmap only says which hosts it would scan
    listed = subprocess.run(["nmap", "-n", "-sL", "--exclude", _exclude(argv), "10.0.0.0/27"],
                            capture_output=True, text=True, check=True).stdout
    hosts = {line.rsplit(" ", 1)[-1] for line in listed.splitlines() if line.startswith("Nmap scan report for")}
    assert len(hosts) == 32 - 4 and not hosts & {"10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.20"}


def test_a_rendering_that_loses_an_exclusion_is_refused(plan):
    def careless(ct: CompiledTemplate):
        argv = render_argv(ct)
        i = argv.index("--exclude")
        return {"name": ct.name, "argv": argv[:i] + argv[i + 2:]}

    with pytest.raises(SafetyError, match=r"aimed at 10.0.0.10-10.0.0.12, 10.0.0.20, which its compiled targets"):
        render_one(plan.get("full-audit"), NMAP.model_copy(update={"render": careless}))


def test_targets_nmap_would_read_from_a_file_or_a_name_reach_anywhere():
    assert parse_targets(["nmap", "-n", "-iL", "hosts.txt"]).include == AddressSet.everything()
    assert parse_targets("nmap -n pump.ward3.lan").include == AddressSet.everything()
    assert parse_targets("nmap -n --exclude pump.lan,10.0.0.9 10.0.0.0/28").exclude == AddressSet.parse(["10.0.0.9"])


def test_a_scan_run_keeps_the_template_exclusions_whatever_the_targets(plan, tmp_path):
    argv = build_argv(plan.get("full-audit"), ["10.0.0.0/27"], tmp_path / "x.xml", allow_non_loopback=True)
    assert _exclude(argv) == "10.0.0.10/31,10.0.0.12,10.0.0.20"


def test_the_vendor_record_reads_targets():
    assert isinstance(NMAP, Vendor) and NMAP.parse_targets is parse_targets and "targets" in NMAP.capabilities
