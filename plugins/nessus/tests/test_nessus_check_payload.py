"""`scanguard check --payload` judges a Nessus policy by what Nessus will do: a setting the policy
leaves out takes its editor template's default where recorded vendor material gives it (the
Advanced Network Scan's, fixtures/nessus/editor-template-advanced.json), and is not judged where it
does not (any other template): a no-go, never a go."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard import compile_plan, load_workspace
from scanguard.cli.app import app
from scanguard_nessus.plugin import NESSUS
from tests.helpers import make_workspace

pytestmark = pytest.mark.fixtures
runner = CliRunner()

READER = """
id: reader
name: CR reader
location: {hosts: [10.0.0.5]}
policy: scan
constraints:
  safe_checks_only:
    reason: only non-disruptive checks
"""


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", {"reader.yaml": READER})


def _uuid(fixtures_dir, name: str) -> str:
    return json.loads((fixtures_dir / "nessus" / name).read_text())["uuid"]


def _check(ws, tmp_path, policy: dict):
    payload = tmp_path / "policy.json"
    payload.write_text(json.dumps(policy))
    r = runner.invoke(app, ["check", "--targets", "10.0.0.5", "--payload", str(payload), "--vendor", "nessus",
                            "--workspace", str(ws), "--json"])
    return r.exit_code, json.loads(r.stdout)


def _policy(ws, uuid: str, leave_out: str = "", **settings: str) -> dict:
    """A REST API policy (`{uuid, settings}`) with every key a rendered one has, less `leave_out`."""
    rendered = NESSUS.render(compile_plan(load_workspace(ws)).get("full-audit"))["settings"]
    rendered.update(settings)
    rendered.pop(leave_out, None)
    return {"uuid": uuid, "settings": rendered}


def _codes(doc) -> set[str]:
    return {x["code"] for x in doc["results"] if x["severity"] == "error"}


def test_safe_checks_left_out_of_a_basic_network_scan_policy_is_not_judged(ws, tmp_path, fixtures_dir):
    basic = _uuid(fixtures_dir, "policy-details.json")  # the recorded policy's template: Basic Network Scan
    code, doc = _check(ws, tmp_path, _policy(ws, basic, leave_out="safe_checks"))
    assert code == 3 and not doc["go"]
    assert "payload-not-judged" in _codes(doc)
    assert "safe_checks" in next(x["message"] for x in doc["results"] if x["code"] == "payload-not-judged")


def test_a_policy_on_no_named_template_leaving_its_port_range_out_is_not_judged(ws, tmp_path):
    code, doc = _check(ws, tmp_path, _policy(ws, "", leave_out="portscan_range"))
    assert code == 3 and "payload-not-judged" in _codes(doc)


def test_safe_checks_left_out_of_an_advanced_scan_policy_takes_the_recorded_default(ws, tmp_path, fixtures_dir):
    advanced = _uuid(fixtures_dir, "editor-template-advanced.json")  # its recorded default: safe_checks "yes"
    code, doc = _check(ws, tmp_path, _policy(ws, advanced, leave_out="safe_checks"))
    assert code == 0 and doc["go"], doc


def test_a_policy_that_writes_every_setting_is_judged_on_any_template(ws, tmp_path, fixtures_dir):
    basic = _uuid(fixtures_dir, "policy-details.json")
    assert _check(ws, tmp_path, _policy(ws, basic))[0] == 0
    code, doc = _check(ws, tmp_path, _policy(ws, basic, safe_checks="no"))
    assert code == 3 and "payload-not-judged" not in _codes(doc)
