"""nmap's argument vectors aim exactly where their templates may: targets and exclusions written
as nmap reads them (hosts and CIDR blocks: nmap takes 10.0.0.10-10.0.0.29 for a host name), IPv6
in a run of its own with -6, never-scan devices and restricted devices of other templates
excluded (issue 8, item 8), read back and verified by render. Real nmap's reading of every
rendering is tested in test_real_nmap_reads_renderings.py."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scanguard import AddressSet, CompiledTemplate, PortSet, SafetyError, ScanTemplate, Targets, Vendor
from scanguard import compile_plan, load_workspace
from scanguard.render import render_one
from scanguard_nmap.argv import render_argv
from scanguard_nmap.plugin import scanguard_vendors
from scanguard_nmap.run import build_argv
from scanguard_nmap.targets import nmap_items, parse_targets
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


def _items(text: str, version: int = 4) -> list[str]:
    return nmap_items(AddressSet.parse(text), version)


def test_ipv4_ranges_become_hosts_and_cidr_blocks():
    assert _items("10.20.60.0-10.20.61.127") == ["10.20.60.0/24", "10.20.61.0/25"]
    assert _items("10.40.20.11-10.40.20.12") == ["10.40.20.11", "10.40.20.12"]
    assert _items("10.20.70.10-10.20.70.29") == ["10.20.70.10/31", "10.20.70.12/30", "10.20.70.16/29",
                                                 "10.20.70.24/30", "10.20.70.28/31"]
    assert _items("10.0.0.0/16, 10.1.0.7, fd00::1") == ["10.0.0.0/16", "10.1.0.7"]


def test_ipv6_ranges_become_cidrs():
    assert _items("fd00::1-fd00::4", 6) == ["fd00::1", "fd00::2/127", "fd00::4"]
    assert _items("fd00::/120", 6) == ["fd00::/120"]


def _template(include: str, exclude: str = "") -> CompiledTemplate:
    t = ScanTemplate(name="t", ports=PortSet.parse("22"), checks={"enabled": False})
    return CompiledTemplate(name="t", base="t", template=t,
                            targets=Targets(include=AddressSet.parse(include), exclude=AddressSet.parse(exclude)))


def test_ipv4_and_ipv6_targets_are_two_runs_each_with_its_own_exclusions():
    doc = NMAP.render(_template("10.0.0.0/24, fd00::/120", "10.0.0.7, fd00::9"))
    v4, v6 = doc["argv"], doc["argv6"]
    assert "-6" not in v4 and v4[-1] == "10.0.0.0/24" and v4[v4.index("--exclude") + 1] == "10.0.0.7"
    assert "-6" in v6 and v6[-1] == "fd00::/120" and v6[v6.index("--exclude") + 1] == "fd00::9"
    script = NMAP.serialize(doc)
    assert script.count("nmap -n") == 2 and script.rstrip().splitlines()[-1].startswith("exec nmap")
    assert NMAP.parse(doc) == NMAP.parse(script).model_copy(update={"name": "t"})


def test_targets_left_to_the_scanner_keep_every_exclusion():
    argv = NMAP.render(_template("", "10.0.0.7-10.0.0.9, fd00::9"))["argv"]
    assert argv[-2:] == ["--exclude", "10.0.0.7,10.0.0.8/31,fd00::9"]


def test_both_runs_are_read_back_for_where_they_aim():
    aimed = parse_targets(NMAP.render(_template("10.0.0.0/24, fd00::/120", "10.0.0.7, fd00::9")))
    assert aimed.include - aimed.exclude == AddressSet.parse("10.0.0.0/24, fd00::/120") - AddressSet.parse(
        "10.0.0.7, fd00::9")


def test_option_arguments_are_not_read_as_targets():
    aimed = parse_targets("nmap -n -T 4 -M 5 -d2 --max-os-tries 2 -p 80 10.0.0.1")
    assert aimed.include == AddressSet.parse("10.0.0.1")
