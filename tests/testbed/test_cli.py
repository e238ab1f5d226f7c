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


def test_testbed_run_of_the_patient_monitor_serves_udp_without_a_traceback():
    # a separate process: asyncio reports a failing callback on stderr, not as an exception
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "scanguard", "testbed", "run", "patient-monitor", "--duration", "0.5",
                        "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "AssertionError" not in r.stderr
    assert json.loads(r.stdout)["udp_ports"] == [7, 19, 24105]


def test_testbed_check_accepts_the_shipped_personalities():
    from scanguard.testbed.personality import SHIPPED_DIR

    files = sorted(str(f) for f in SHIPPED_DIR.glob("*.yaml"))
    result = CliRunner().invoke(app, ["testbed", "check", *files, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["valid"]) == len(files)


def test_testbed_check_names_the_file_and_line_of_each_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: Bad\nevidence: [X-1]\nservices:\n  - {port: 80, closes: sometimes}\n"
                   "recovery: {mode: reset}\n")
    result = CliRunner().invoke(app, ["testbed", "check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:5: services[0].closes" in result.output
