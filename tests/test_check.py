"""Pre-scan safety check: go or no-go, with reasons; a whole /8 is checked without expanding it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from scanguard import CheckRequest, compile_plan, load_workspace
from scanguard.check import check_scan
from scanguard.cli.app import app
from scanguard.model import AddressSet
from scanguard.plugin.manager import load_plugins

NIGHT = datetime(2026, 11, 28, 1, 30, tzinfo=timezone.utc)  # 02:30 in Berlin: inside the terminals' window
NOON = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ws(example_workspace):
    return load_workspace(example_workspace)


@pytest.fixture(scope="module")
def plan(ws):
    return compile_plan(ws)


def _verdict(ws, plan, template, targets, when=NIGHT):
    req = CheckRequest(template=plan.get(template) if template else None, template_name=template,
                       targets=AddressSet.parse(targets), when=when)
    return check_scan(req, ws, load_plugins(entry_points=False))


def _codes(verdict):
    return {(r.code, r.device) for r in verdict.results if r.severity == "error"}


def test_the_device_template_inside_its_window_is_go(ws, plan):
    v = _verdict(ws, plan, "full-audit@payment-terminals", ["10.20.50.0/26"])
    assert v.go and not v.results


def test_outside_the_window_is_no_go(ws, plan):
    v = _verdict(ws, plan, "full-audit@payment-terminals", ["10.20.50.0/26"], when=NOON)
    assert not v.go and ("outside-window", "pos-terminal") in _codes(v)


def test_never_scan_device_among_targets_is_no_go(ws, plan):
    v = _verdict(ws, plan, "discovery", ["10.20.60.17"])
    assert ("never-scan", "patient-monitor-intellivue") in _codes(v)


def test_restricted_device_under_the_general_template_is_no_go_with_its_reasons(ws, plan):
    v = _verdict(ws, plan, "full-audit", ["10.20.70.15"])
    codes = _codes(v)
    assert ("restricted-device", "imaging-cr-reader") in codes
    assert ("unsafe-excluded_ports", "imaging-cr-reader") in codes


def test_a_whole_slash_8_is_checked_without_expanding_it(ws, plan):
    v = _verdict(ws, plan, "full-audit", ["10.0.0.0/8"])
    devices = {d for _, d in _codes(v)}
    assert {"patient-monitor-intellivue", "pos-terminal", "plc-energy-center"} <= devices


def test_targets_with_no_profiled_device_are_go(ws, plan):
    assert _verdict(ws, plan, "full-audit", ["192.0.2.0/24"]).go


def test_cli_exit_codes_and_json(example_workspace):
    runner = CliRunner()
    no = runner.invoke(app, ["check", "--targets", "10.20.60.0/24", "--template", "discovery", "--json",
                             "--workspace", str(example_workspace)])
    assert no.exit_code == 3
    assert json.loads(no.stdout)["go"] is False
    go = runner.invoke(app, ["check", "--targets", "192.0.2.1", "--template", "discovery",
                             "--workspace", str(example_workspace)])
    assert go.exit_code == 0 and "GO" in go.stdout


def test_cli_refuses_a_time_without_zone(example_workspace):
    r = CliRunner().invoke(app, ["check", "--targets", "192.0.2.1", "--template", "discovery", "--at",
                                 "2026-11-28T02:00", "--workspace", str(example_workspace)])
    assert r.exit_code == 2 and "time zone" in r.stderr
