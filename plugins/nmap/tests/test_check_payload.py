"""`scanguard check --payload` judges an nmap command by what nmap will actually scan: its own top
ports when no -p is given (7100 among them), unprefixed ports for UDP too when -sU is there; and
what it cannot judge (unknown defaults, options it does not know) is a no-go, never a go."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli.app import app
from tests.helpers import make_workspace

runner = CliRunner()

TERMINAL = """
id: terminal
name: Payment terminal
location: {hosts: [10.0.0.5]}
policy: scan
constraints:
  excluded_ports:
    - ports: 7100/tcp, 53/udp
      reason: hangs the terminal
      evidence: [INC-1]
"""


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", {"terminal.yaml": TERMINAL})


def _check(ws, tmp_path, command: str):
    payload = tmp_path / "scan.sh"
    payload.write_text(command + "\n")
    r = runner.invoke(app, ["check", "--targets", "10.0.0.5", "--payload", str(payload), "--vendor", "nmap",
                            "--workspace", str(ws), "--json"])
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip().startswith("{") else r.output


def _errors(doc) -> list[str]:
    return [f"{x['code']}: {x['message']}" for x in doc["results"] if x["severity"] == "error"]


def test_no_port_option_is_nmap_s_top_ports_with_7100(ws, tmp_path):
    code, doc = _check(ws, tmp_path, "nmap -n -sT -Pn 10.0.0.5")
    assert code == 3 and not doc["go"]
    assert any("7100/tcp" in e for e in _errors(doc)), doc


def test_the_first_thousand_ports_are_go(ws, tmp_path):
    code, doc = _check(ws, tmp_path, "nmap -n -sT -Pn -p 1-1000 10.0.0.5")
    assert code == 0 and doc["go"], doc


def test_unprefixed_ports_are_udp_ports_too_with_su(ws, tmp_path):
    code, doc = _check(ws, tmp_path, "nmap -n -sT -sU -Pn -p 22,53 10.0.0.5")
    assert code == 3 and any("53/udp" in e for e in _errors(doc)), doc
    code, doc = _check(ws, tmp_path, "nmap -n -sT -sU -Pn -p T:22,53 10.0.0.5")
    assert code == 0 and doc["go"], doc


@pytest.mark.parametrize("options", ["-sU -F", "--top-ports 2000", "-p-", "-p T:7000-7200", "-p 7100-", "-sU -p domain"])
def test_every_way_of_naming_the_excluded_ports_is_seen(ws, tmp_path, options):
    code, doc = _check(ws, tmp_path, f"nmap -n -sT -Pn {options} 10.0.0.5")
    assert code == 3, (options, doc)


def test_unknown_defaults_are_a_no_go(ws, tmp_path, monkeypatch):
    monkeypatch.setattr("scanguard_nmap.services.candidates", lambda datadir=None: [tmp_path / "none" / "nmap-services"])
    code, doc = _check(ws, tmp_path, "nmap -n -sT -Pn 10.0.0.5")
    assert code == 3 and not doc["go"]
    assert any(e.startswith("payload-not-judged") and "nmap-services" in e for e in _errors(doc)), doc


@pytest.mark.parametrize("command", ["nmap -n -sT -p 80 -f 10.0.0.5", "nmap -n -sT -p 80 --no-such-option 10.0.0.5",
                                     "curl http://10.0.0.5/", "nmap -n -sY -p 80 10.0.0.5"])
def test_what_cannot_be_judged_is_a_no_go_not_a_traceback(ws, tmp_path, command):
    code, doc = _check(ws, tmp_path, command)
    assert code == 3 and any(e.startswith("payload-not-judged") for e in _errors(doc)), doc


def test_a_missing_payload_file_is_invalid_input(ws, tmp_path):
    r = runner.invoke(app, ["check", "--targets", "10.0.0.5", "--payload", str(tmp_path / "nope.sh"), "--vendor",
                            "nmap", "--workspace", str(ws)])
    assert r.exit_code == 2 and "nope.sh" in r.stderr


def test_a_rendered_script_is_read_back(ws, tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(app, ["render", "--vendor", "nmap", "--out", str(out), "--workspace", str(ws)])
    assert r.exit_code == 0, r.output
    script = out / "nmap" / "full-audit.sh"
    r = runner.invoke(app, ["check", "--targets", "10.0.0.5", "--payload", str(script), "--vendor", "nmap",
                            "--workspace", str(ws), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["go"], r.output
