"""`scanguard testbed list` and `scanguard testbed run`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from scanguard.cli.app import app


def test_testbed_list_json_names_every_shipped_personality():
    result = CliRunner().invoke(app, ["testbed", "list", "--json"])
    assert result.exit_code == 0
    ids = {p["id"] for p in json.loads(result.stdout)["personalities"]}
    assert {"payment-terminal", "plc", "infusion-rack", "cr-reader", "patient-monitor"} <= ids


def test_testbed_run_prints_the_address_and_control_interface_as_json():
    result = CliRunner().invoke(app, ["testbed", "run", "plc", "--duration", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["device"] == "plc" and doc["address"].startswith("127.0.0.")
    assert doc["control_url"].startswith("http://127.0.0.1:")


def test_testbed_run_of_an_unknown_personality_exits_2():
    result = CliRunner().invoke(app, ["testbed", "run", "toaster"])
    assert result.exit_code == 2


def test_testbed_run_refuses_an_address_off_loopback():
    result = CliRunner().invoke(app, ["testbed", "run", "plc", "--host", "10.0.0.5"])
    assert result.exit_code == 2
