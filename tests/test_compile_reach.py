"""Every address a template reaches gets every constraint that applies there (issue 8, items 1
and 2): a profile with an address inside a template's targets either narrows the template or has
its addresses taken out of them; a scanner without targets reaches everywhere. `explain` and
`check` agree with what compile made."""

from __future__ import annotations

from datetime import datetime, timezone

from typer.testing import CliRunner

from scanguard import CheckRequest, compile_plan, load_workspace, violations
from scanguard.check import check_scan
from scanguard.cli.app import app
from scanguard.explain import explain
from scanguard.model import AddressSet
from scanguard.plugin.manager import load_plugins
from tests.helpers import make_workspace

PLC_BLOCK = """
id: a
name: PLC block
location: {cidrs: [10.1.0.0/16]}
policy: restricted
group: plc-block
"""
B_HOST = """
id: b
name: Terminal B
location: {hosts: [10.1.2.3]}
policy: restricted
constraints:
  excluded_ports:
    - ports: 7100/tcp
      reason: a connect to 7100 hangs it
"""
C_SUBNET = """
id: c
name: Printers C
location: {cidrs: [10.1.2.0/24]}
policy: scan
constraints:
  excluded_ports:
    - ports: 7100/tcp
      reason: jams the spooler
  rate:
    packets_per_second: 20
    reason: slow stack
"""
NOON = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)


def _ws(tmp_path, toml=None, **profiles):
    kw = {"toml": toml} if toml else {}
    make_workspace(tmp_path, {f"{k}.yaml": v for k, v in profiles.items()}, **kw)
    return load_workspace(tmp_path)


def _go(ws, plan, template, targets):
    req = CheckRequest(template=plan.get(template), template_name=template, targets=AddressSet.parse(targets),
                       when=NOON)
    return check_scan(req, ws, load_plugins(entry_points=False)).go


def test_a_restricted_device_inside_a_group_range_is_taken_out_of_the_group_template(tmp_path):
    plan = compile_plan(_ws(tmp_path, a=PLC_BLOCK, b=B_HOST))
    block = plan.get("full-audit@plc-block")
    assert "10.1.2.3" in block.targets.exclude and "10.1.2.3" not in block.reach()
    assert block.excluded_devices == ("b",)


def test_the_more_specific_restricted_template_keeps_the_shared_address_narrowed_by_both(tmp_path):
    plan = compile_plan(_ws(tmp_path, a=PLC_BLOCK, b=B_HOST))
    own = plan.get("full-audit@b")
    assert "10.1.2.3" in own.reach() and not own.template.ports.contains(7100, "tcp")
    assert set(own.devices) == {"a", "b"}


def test_check_agrees_with_the_group_template_and_its_exclusion(tmp_path):
    ws = _ws(tmp_path, a=PLC_BLOCK, b=B_HOST)
    plan = compile_plan(ws)
    assert not _go(ws, plan, "full-audit@plc-block", ["10.1.0.0/16"])
    assert _go(ws, plan, "full-audit@plc-block", plan.get("full-audit@plc-block").reach().items())
    assert _go(ws, plan, "full-audit@b", ["10.1.2.3"])


def test_a_scan_policy_subnet_inside_a_group_range_narrows_the_group_template(tmp_path):
    plan = compile_plan(_ws(tmp_path, a=PLC_BLOCK, c=C_SUBNET))
    block = plan.get("full-audit@plc-block")
    assert "10.1.2.7" in block.reach()
    assert not block.template.ports.contains(7100, "tcp")
    assert block.template.performance.packets_per_second == 20
    assert "c" in block.devices


def test_overlapping_restricted_groups_scan_each_shared_address_once_safely_for_both(tmp_path):
    left = "id: l\nname: L\nlocation: {ranges: [10.5.0.0-10.5.0.200]}\npolicy: restricted\n" \
           "constraints:\n  excluded_ports:\n    - {ports: 502/tcp, reason: modbus}\n"
    right = "id: r\nname: R\nlocation: {ranges: [10.5.0.100-10.5.0.255]}\npolicy: restricted\n" \
            "constraints:\n  excluded_ports:\n    - {ports: 102/tcp, reason: s7}\n"
    plan = compile_plan(_ws(tmp_path, l=left, r=right))
    lt, rt = plan.get("full-audit@l"), plan.get("full-audit@r")
    shared = AddressSet.parse(["10.5.0.100-10.5.0.200"])
    assert not lt.reach().overlaps(shared) or not rt.reach().overlaps(shared)
    owner = lt if lt.reach().overlaps(shared) else rt
    assert shared.issubset(owner.reach())
    assert not owner.template.ports.contains(502, "tcp") and not owner.template.ports.contains(102, "tcp")
    # nothing either profile claims is left unscanned
    assert AddressSet.parse(["10.5.0.0-10.5.0.255"]).issubset(lt.reach() | rt.reach())


def test_explain_names_the_device_that_forbids_a_probed_port_and_was_taken_out(tmp_path):
    ws = _ws(tmp_path, a=PLC_BLOCK, b=B_HOST)
    ex = explain(compile_plan(ws).get("full-audit@plc-block"), "7100/tcp", ws)
    assert ex.probed and ex.excluded_devices == ("b",)
    assert "no profile in its scope excludes it" not in ex.summary and "b (10.1.2.3)" in ex.summary


def test_explain_cli_never_says_nothing_excludes_a_port_a_device_in_the_targets_forbids(tmp_path):
    make_workspace(tmp_path, {"a.yaml": PLC_BLOCK, "c.yaml": C_SUBNET})
    r = CliRunner().invoke(app, ["explain", "full-audit@plc-block", "--port", "7100/tcp", "--workspace", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "removed from full-audit@plc-block by c" in r.stdout


TWO_SCANNERS = """
[workspace]
name = "test"
state = "state.db"

[scanners.clinical]
type = "nmap"
targets = ["10.20.0.0/16"]

[scanners.anywhere]
type = "nmap"
"""
FAR_AWAY = """
id: far
name: Lab analyser
location: {hosts: [10.99.0.7]}
policy: scan
constraints:
  excluded_ports:
    - ports: 9100/tcp
      reason: resets the analyser
  rate:
    parallel_checks_per_host: 1
    reason: single-threaded stack
"""


def test_a_scanner_without_targets_gets_general_templates_safe_everywhere(tmp_path):
    plan = compile_plan(_ws(tmp_path, TWO_SCANNERS, far=FAR_AWAY))
    general = plan.get("full-audit")
    assert "anywhere" in general.scanners and general.reach_anywhere
    assert "10.99.0.7" in general.reach()
    assert not general.template.ports.contains(9100, "tcp")
    assert general.template.performance.parallel_checks_per_host == 1
    assert violations(general.template, load_workspace(tmp_path).profile("far").lattice()) == []


def test_scanners_that_all_have_targets_get_only_the_constraints_of_devices_they_reach(tmp_path):
    toml = TWO_SCANNERS.replace('[scanners.anywhere]\ntype = "nmap"', '[scanners.lab]\ntype = "nmap"\ntargets = ["10.30.0.0/16"]')
    plan = compile_plan(_ws(tmp_path, toml, far=FAR_AWAY))
    general = plan.get("full-audit")
    assert not general.reach_anywhere and "10.99.0.7" not in general.reach()
    assert general.template.ports.contains(9100, "tcp")


def test_a_template_shared_by_scanners_is_safe_for_every_device_any_of_them_reaches(tmp_path):
    toml = TWO_SCANNERS.replace('[scanners.anywhere]\ntype = "nmap"', '[scanners.lab]\ntype = "nmap"\ntargets = ["10.99.0.0/16"]')
    plan = compile_plan(_ws(tmp_path, toml, far=FAR_AWAY))
    assert not plan.get("full-audit").template.ports.contains(9100, "tcp")
