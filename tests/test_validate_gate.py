"""validate is the one gate: what render, sync or check would refuse about a workspace, validate
refuses first, at the line that asks for it; every configuration fault is exit 2, with "did you
mean" for keys, values and names."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app
from tests.helpers import make_workspace

runner = CliRunner()

NESSUS = """
[workspace]
state = "state.db"

[scanners.nessus-main]
type = "nessus"
url = "https://127.0.0.1:8834"
credentials = { access_key = "SG_GATE_ACCESS", secret_key = "SG_GATE_SECRET" }
templates = ["discovery", "full-audit"]
"""

HL7 = """
id: hl7-analyser
name: HL7 analyser
policy: restricted
location:
  hosts: [10.1.2.3]
constraints:
  excluded_ports:
    - ports: 2575/tcp
      reason: the analyser stops on connects to 2575
  rate:
    probe_delay_ms: 100
    reason: it dies when probes come faster than every 100 ms
"""


@pytest.fixture(autouse=True)
def every_plugin():
    """The plugins a user has: every installed one."""
    common.reset_plugins(None)
    yield
    common.reset_plugins(None)


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_a_constraint_nessus_cannot_keep_is_a_validate_error_at_the_profile_line(tmp_path):
    make_workspace(tmp_path, {"hl7.yaml": HL7}, toml=NESSUS)
    r = invoke("validate", "-w", str(tmp_path), "--json")
    assert r.exit_code == 2
    (problem,) = [p for p in json.loads(r.stdout)["problems"] if p["severity"] == "error"]
    assert (problem["file"], problem["line"], problem["field"]) == \
        ("profiles/hl7.yaml", 11, "constraints.rate.probe_delay_ms")
    refused = {"discovery@hl7-analyser", "full-audit@hl7-analyser"}
    assert f"scanner nessus-main (nessus) cannot use {', '.join(sorted(refused))}: " in problem["message"]
    assert "cannot keep 100 ms between probes" in problem["message"]
    # what validate refuses, render refuses
    rendered = invoke("render", "-w", str(tmp_path), "--json")
    assert rendered.exit_code == 3
    assert {e["template"] for e in json.loads(rendered.stdout)["errors"]} == refused


def test_the_example_workspace_passes_the_gate_and_renders(example_workspace):
    assert invoke("validate", "-w", str(example_workspace)).exit_code == 0
    assert invoke("render", "-w", str(example_workspace), "--json").exit_code == 0


def test_validate_credentials_names_every_unset_variable_at_once_with_its_line(tmp_path, monkeypatch):
    for name in ("SG_GATE_ACCESS", "SG_GATE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    make_workspace(tmp_path, {}, toml=NESSUS)
    assert invoke("validate", "-w", str(tmp_path)).exit_code == 0  # credentials only when asked
    r = invoke("validate", "--credentials", "-w", str(tmp_path), "--json")
    assert r.exit_code == 2
    problems = [(p["line"], p["field"]) for p in json.loads(r.stdout)["problems"]]
    assert problems == [(8, "scanners.nessus-main.credentials.access_key"),
                        (8, "scanners.nessus-main.credentials.secret_key")]
    monkeypatch.setenv("SG_GATE_ACCESS", "a" * 16)
    monkeypatch.setenv("SG_GATE_SECRET", "s" * 16)
    r = invoke("validate", "--credentials", "-w", str(tmp_path))
    assert r.exit_code == 0 and "every credential set" in r.stderr
    assert "a" * 16 not in r.stdout + r.stderr


def test_a_missing_credential_is_exit_2_for_check_with_a_scanner_too(tmp_path, monkeypatch):
    monkeypatch.delenv("SG_GATE_ACCESS", raising=False)
    make_workspace(tmp_path, {}, toml=NESSUS)
    r = invoke("check", "--targets", "10.9.9.9", "--template", "discovery", "--scanner", "nessus-main",
               "-w", str(tmp_path), "--json")
    assert r.exit_code == 2 and "SG_GATE_ACCESS" in json.loads(r.stdout)["error"]


def test_a_scanner_type_no_plugin_provides_is_exit_2_with_did_you_mean_everywhere(tmp_path):
    make_workspace(tmp_path, {}, toml=NESSUS.replace('type = "nessus"', 'type = "openvas"'))
    for args in (["validate"], ["render"], ["diff"], ["sync"],
                 ["check", "--targets", "10.0.0.1", "--template", "discovery", "--scanner", "nessus-main"]):
        r = invoke(*args, "-w", str(tmp_path), "--json")
        assert r.exit_code == 2, (args, r.stdout, r.stderr)
        assert "'openvas' (did you mean 'gvm'?)" in r.stdout and json.loads(r.stdout)["status"] == "invalid", args


@pytest.mark.parametrize("toml_line, expected", [
    ('tpye = "nmap"', "unknown key 'tpye' (did you mean 'type'?)"),
    ('type = "nmap"\ntimeout = 5', "unknown key 'timeout' (did you mean 'timeout_s'?)"),
])
def test_an_unknown_key_in_scanguard_toml_says_what_was_meant(tmp_path, toml_line, expected):
    make_workspace(tmp_path, {}, toml=f"[scanners.nmap-local]\n{toml_line}\n")
    r = invoke("validate", "-w", str(tmp_path), "--json")
    assert r.exit_code == 2 and expected in r.stdout


@pytest.mark.parametrize("line, expected", [
    ("policy: nver", "policy: 'nver' is not one of scan, restricted, never (did you mean 'never'?)"),
    ("scope: everywere", "scope: 'everywere' is not one of assets, everywhere (did you mean 'everywhere'?)"),
    ("constraints: {rate: {packet_per_second: 5, reason: r}}",
     "constraints.rate.packet_per_second: unknown key 'packet_per_second' (did you mean 'packets_per_second'?)"),
    ("constraints: {excluded_checks: [{categories: [dso], reason: r}]}",
     "unknown check category 'dso' (did you mean 'dos'?)"),
    ("constraints: {windows: {allowed: [{days: [snu]}], reason: r}}", "unknown weekday 'snu' (did you mean 'sun'?)"),
])
def test_a_misspelt_key_or_value_in_a_profile_says_the_bad_value_and_what_was_meant(tmp_path, line, expected):
    make_workspace(tmp_path, {"p.yaml": f"id: p\nname: P\nlocation: {{hosts: [10.0.0.1]}}\n{line}\n"})
    r = invoke("validate", "-w", str(tmp_path))
    assert r.exit_code == 2 and expected in r.stderr, r.stderr


def test_names_on_the_command_line_get_did_you_mean(example_workspace, tmp_path):
    cases = [
        (["explain", "full-audit@payment-terminal"], "(did you mean 'full-audit@payment-terminals'?)"),
        (["check", "--targets", "10.0.0.1", "--template", "ful-audit"], "(did you mean 'full-audit'?)"),
        (["check", "--targets", "10.0.0.1", "--template", "full-audit", "--scanner", "insightvn"],
         "(did you mean 'insightvm'?)"),
        (["render", "--vendor", "nesus"], "(did you mean 'nessus'?)"),
        (["explain", "full-audit", "--vendor", "openvas"], "(did you mean 'gvm'?)"),
        (["trial", "--profile", "pos-termnal", "--target", "127.0.0.1"], "(did you mean 'pos-terminal'?)"),
        (["scorecard", "pos-termnal"], "(did you mean 'pos-terminal'?)"),
        (["audit", str(example_workspace / "scanguard.toml"), "--vendor", "nexpose"], "(did you mean 'insightvm'?)"),
    ]
    for args, hint in cases:
        r = invoke(*args, "-w", str(example_workspace))
        assert r.exit_code == 2 and hint in r.stderr, (args, r.stderr)
