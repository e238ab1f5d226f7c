"""Compile: base templates x profiles -> a verified plan with provenance."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from scanguard import PortSet, compile_plan, load_workspace, violations
from scanguard.cli.app import app
from scanguard.explain import explain
from tests.helpers import make_workspace

POS = """
id: pos
name: Payment terminal
location: {hosts: [10.0.0.5]}
policy: restricted
scope: everywhere
constraints:
  excluded_ports:
    - ports: 7100/tcp
      reason: hangs the terminal
      evidence: [INC-1]
  rate:
    packets_per_second: 10
    reason: fragile stack
    scope: assets
"""
MONITOR = """
id: monitor
name: Monitor
location: {cidrs: [10.0.1.0/24]}
policy: never
risk_acceptance:
  accepted_by: CMIO
  accepted_on: 2026-01-01
  expires: 2030-01-01
  reason: restarts
  compensating_controls: [ACL-1]
"""
PRINTER = """
id: printer
name: Printer
location: {hosts: [10.0.2.9]}
policy: scan
constraints:
  excluded_ports:
    - ports: 9100/tcp
      reason: prints garbage
"""


def _plan(tmp_path, **profiles):
    make_workspace(tmp_path, {f"{k}.yaml": v for k, v in profiles.items()})
    return compile_plan(load_workspace(tmp_path))


def test_everywhere_constraints_narrow_the_general_template(tmp_path):
    plan = _plan(tmp_path, pos=POS)
    general = plan.get("full-audit")
    assert not general.template.ports.contains(7100, "tcp")
    assert general.template.performance.packets_per_second is None  # assets scope stays with the device


def test_restricted_devices_get_their_own_template_with_all_their_constraints(tmp_path):
    plan = _plan(tmp_path, pos=POS)
    ct = plan.get("full-audit@pos")
    assert ct.group == "pos" and ct.devices == ("pos",)
    assert ct.targets.include.items() == ["10.0.0.5"]
    assert ct.template.performance.packets_per_second == 10
    assert not ct.template.ports.contains(7100, "tcp")


def test_general_template_excludes_restricted_and_never_devices(tmp_path):
    plan = _plan(tmp_path, pos=POS, monitor=MONITOR)
    exclude = plan.get("full-audit").targets.exclude
    assert "10.0.0.5" in exclude and "10.0.1.77" in exclude
    assert plan.get("full-audit@monitor") is None


def test_scannable_devices_constraints_apply_to_the_templates_that_reach_them(tmp_path):
    plan = _plan(tmp_path, printer=PRINTER)
    assert not plan.get("full-audit").template.ports.contains(9100, "tcp")


def test_every_compiled_template_satisfies_its_constraints(example_workspace):
    for ct in compile_plan(load_workspace(example_workspace)).templates:
        assert violations(ct.template, ct.constraints) == [], ct.name


def test_no_compiled_template_in_the_example_probes_7100(example_workspace):
    plan = compile_plan(load_workspace(example_workspace))
    assert plan.templates and all(not ct.template.ports.contains(7100, "tcp") for ct in plan.templates)


def test_explain_names_profile_reason_and_evidence_for_a_removed_port(tmp_path):
    ex = explain(_plan(tmp_path, pos=POS).get("full-audit"), "7100/tcp")
    assert ex.probed is False and ex.in_base is True
    (p,) = ex.because
    assert (p.profile, p.reason, p.evidence, p.source) == ("pos", "hangs the terminal", ("INC-1",), "profiles/pos.yaml")


def test_explain_says_when_a_port_is_still_probed(tmp_path):
    ex = explain(_plan(tmp_path, pos=POS).get("full-audit"), "443/tcp")
    assert ex.probed is True and not ex.because


def test_removed_ports_record_what_narrowing_took_out(tmp_path):
    ct = _plan(tmp_path, pos=POS).get("full-audit")
    assert ct.removed_ports == PortSet.parse("7100/tcp")


runner = CliRunner()


def test_explain_cli_names_the_profile_reason_and_evidence(example_workspace):
    r = runner.invoke(app, ["explain", "full-audit@payment-terminals", "--port", "7100/tcp",
                            "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (because,) = doc["explanation"]["because"]
    assert because["profile"] == "pos-terminal" and "INC-2024-0113" in because["evidence"]
    assert "7100" in because["reason"]


def test_explain_unknown_template_lists_the_compiled_ones(example_workspace):
    r = runner.invoke(app, ["explain", "nope", "--workspace", str(example_workspace)])
    assert r.exit_code == 2 and "full-audit@payment-terminals" in r.stderr


def test_render_json_has_the_stable_shape(example_workspace, tmp_path):
    r = runner.invoke(app, ["render", "--vendor", "nmap", "--workspace", str(example_workspace), "--json",
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1
    t = next(t for t in doc["templates"] if t["name"] == "full-audit@payment-terminals")
    assert set(t) == {"name", "vendor", "base", "group", "targets", "payload"}
    assert t["vendor"] == "nmap" and t["group"] == "payment-terminals"
    assert t["targets"]["include"] == ["10.20.50.0/26", "10.30.8.21"]
    assert (tmp_path / "out" / "nmap" / "full-audit@payment-terminals.sh").is_file()


def test_render_of_a_vendor_no_plugin_provides_is_invalid_input_and_renders_nothing(example_workspace):
    r = runner.invoke(app, ["render", "--vendor", "nmap", "--vendor", "nmpa",
                            "--workspace", str(example_workspace), "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["status"] == "invalid" and doc["exit_code"] == 2 and "templates" not in doc
    assert "unknown vendor 'nmpa' (did you mean 'nmap'?)" in doc["error"]


def test_a_group_template_goes_only_to_scanners_whose_targets_reach_the_group(tmp_path):
    toml = """
    [scanners.clinical]
    type = "nmap"
    targets = ["10.0.0.0/24"]

    [scanners.ot]
    type = "nmap"
    targets = ["10.9.0.0/16"]

    [scanners.anywhere]
    type = "nmap"
    """
    make_workspace(tmp_path, {"pos.yaml": POS}, toml=toml)
    plan = compile_plan(load_workspace(tmp_path))
    assert plan.get("full-audit@pos").scanners == ("clinical", "anywhere")
    assert set(plan.get("full-audit").scanners) == {"clinical", "ot", "anywhere"}
