"""Every command behaves alike: exit codes as docs/operations.md lists them, one JSON document on
failure too, usage errors answered the same way, readable help, tables at full width off a
terminal. A command added without a row in the docs' table (or a failing input here) fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from scanguard.cli.app import app

REPO = Path(__file__).resolve().parents[1]
OPERATIONS = REPO / "docs" / "operations.md"
runner = CliRunner()


def command_paths() -> list[str]:
    """Every command the app offers, groups walked ("kb import", "testbed run")."""
    found: list[str] = []

    def walk(cmd, prefix: str) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            found.append(prefix)

    walk(typer.main.get_command(app), "")
    return sorted(found)


def documented() -> dict[str, set[int]]:
    """The table of docs/operations.md "Every command: exit codes and `--json` on failure":
    command -> its exit codes."""
    text = OPERATIONS.read_text()
    section = text.split("## Every command: exit codes and `--json` on failure", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z -]+)` \| ([0-9, ]+) \|", section, re.M)
    return {name: {int(c) for c in codes.split(",")} for name, codes in rows}


@pytest.fixture
def ws(tmp_path, example_workspace):
    """A copy of the example hospital (commands write their state next to it)."""
    root = tmp_path / "hospital"
    shutil.copytree(example_workspace, root, ignore=shutil.ignore_patterns(".scanguard", "out", "kb"))
    return root


def invoke(*args: str):
    return runner.invoke(app, list(args))


def failure_doc(r, command: str, code: int) -> dict:
    """The one document a failed --json run printed, checked against the contract."""
    assert r.exit_code == code, (r.stdout, r.stderr)
    doc = json.loads(r.stdout)  # exactly one document: json.loads refuses anything after it
    assert doc["schema_version"] == 1 and doc["command"] == command
    assert doc["status"] == ("invalid" if code == 2 else "error") and doc["exit_code"] == code
    assert doc["error"] and doc["error"].splitlines()[0] in r.stderr  # the same message on stderr
    return doc


# Input each command refuses as invalid (exit 2), beyond the options it does not know. Every
# command needs an entry: None for a command that reads nothing but its options.
INVALID: dict[str, list[str] | None] = {
    "validate": ["validate", "-w", "{missing}"],
    "explain": ["explain", "full-audt", "-w", "{ws}"],
    "render": ["render", "--vendor", "nmpa", "-w", "{ws}"],
    "plugins": None,
    "check": ["check", "--targets", "10.20.0.0/16", "--template", "full-audit", "--scanner", "nesus-main",
              "-w", "{ws}"],
    "diff": ["diff", "--scanner", "nesus-main", "-w", "{ws}"],
    "sync": ["sync", "--scanner", "nesus-main", "-w", "{ws}"],
    "history": ["history", "-w", "{missing}"],
    "correlate": ["correlate", "--vendor", "nmpa", "--activity", "{missing}", "--health", "{missing}"],
    "apply-proposal": ["apply-proposal", "{missing}", "-w", "{ws}"],
    "audit": ["audit", "{missing}", "-w", "{ws}"],
    "find-misplaced": ["find-misplaced", "{missing}", "-w", "{ws}"],
    "trial": ["trial", "--profile", "pos-termnal", "--target", "127.0.0.1", "-w", "{ws}"],
    "scorecard": ["scorecard", "pos-terminal", "-w", "{ws}"],
    "testbed list": None,
    "testbed run": ["testbed", "run", "payment-terminal", "--host", "10.0.0.1"],
    "testbed check": ["testbed", "check", "{missing}"],
    "testbed scanner start": ["testbed", "scanner", "start", "qualys", "-w", "{ws}"],
    "testbed scanner edit": ["testbed", "scanner", "edit", "nessus-main", "full-audit"],
    "testbed scanner stop": ["testbed", "scanner", "stop"],
    "kb import": ["kb", "import", "{missing}", "-w", "{ws}"],
    "kb review": ["kb", "review", "--status", "pending", "-w", "{ws}"],
    "kb accept": ["kb", "accept", "no-such-draft", "-w", "{ws}"],
    "kb reject": ["kb", "reject", "no-such-draft", "-w", "{ws}"],
    "kb search": ["kb", "search", "pump", "-w", "{missing}"],
}


def test_every_command_has_a_row_in_the_docs_table_and_an_invalid_input_here():
    commands = command_paths()
    assert "sync" in commands and "kb import" in commands
    assert sorted(documented()) == commands, "docs/operations.md's table and the app's commands differ"
    assert sorted(INVALID) == commands, "give every new command an invalid input in INVALID"


def test_every_command_documents_exit_0_and_2():
    for name, codes in documented().items():
        assert {0, 2} <= codes <= {0, 1, 2, 3}, name


@pytest.mark.parametrize("command", command_paths())
def test_an_unknown_option_is_exit_2_with_the_failure_document(command):
    r = invoke(*command.split(), "--json", "--no-such-option")
    doc = failure_doc(r, command, 2)
    assert "--no-such-option" in doc["error"]


@pytest.mark.parametrize("command", [c for c in command_paths() if INVALID.get(c)])
def test_invalid_input_is_exit_2_with_the_failure_document(command, ws, tmp_path):
    args = [a.format(ws=ws, missing=tmp_path / "missing") for a in INVALID[command]]
    r = invoke(*args, "--json")
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert 2 in documented()[command]
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["status"] == "invalid" and doc["exit_code"] == 2
    assert doc.get("command") == command


def test_a_misspelt_command_is_exit_2_with_did_you_mean_and_the_document():
    r = invoke("valdate", "--json")
    doc = failure_doc(r, "valdate", 2)
    assert "Did you mean 'validate'?" in doc["error"]


def test_an_invalid_workspace_carries_every_problem_in_the_failure_document(tmp_path):
    from tests.helpers import make_workspace

    make_workspace(tmp_path, {"pos.yaml": "id: pos\nname: P\npolicy: nver\nlocation: {hosts: [10.0.0.1]}\n"})
    doc = failure_doc(invoke("history", "-w", str(tmp_path), "--json"), "history", 2)
    assert doc["problems"] == [{"file": "profiles/pos.yaml", "line": 3, "field": "policy", "severity": "error",
                                "message": "'nver' is not one of scan, restricted, never (did you mean 'never'?)"}]


def test_diff_and_sync_failure_documents_keep_their_scanners_list(ws):
    for command in ("diff", "sync"):
        doc = failure_doc(invoke(command, "--scanner", "nope", "-w", str(ws), "--json"), command, 2)
        assert doc["scanners"] == []


def test_a_runtime_failure_is_exit_1_with_status_error(ws):
    (ws / ".scanguard").mkdir()
    (ws / ".scanguard" / "state.db").write_bytes(b"this is not a SQLite database" * 100)
    doc = failure_doc(invoke("history", "-w", str(ws), "--json"), "history", 1)
    assert "state.db" in doc["error"]


def test_a_scanguard_error_escaping_a_command_is_its_message_and_exit_code_not_a_traceback(monkeypatch):
    from scanguard.cli import history as history_cmd
    from scanguard.errors import UnsafeInput

    def hostile(*a, **kw):
        raise UnsafeInput("somewhere.xml", "entity declarations are refused")

    monkeypatch.setattr(history_cmd, "workspace", hostile)
    r = invoke("history", "--json")
    doc = failure_doc(r, "history", 2)
    assert doc["error"] == "somewhere.xml: entity declarations are refused"
    assert "Traceback" not in r.stderr


def test_help_shows_readable_placeholders():
    typer_labels = re.compile(r"<(str|int|float|path|bool|list\[|[a-z]+ range)|\{[a-z_]+\}")
    for command in command_paths():
        text = invoke(*command.split(), "--help").stdout
        assert not typer_labels.search(text), (command, text)
    assert "--vendor VENDOR" in invoke("render", "--help").stdout
    assert "-w, --workspace DIR" in invoke("render", "--help").stdout
    assert "Usage: scanguard kb accept [OPTIONS] DRAFT..." in invoke("kb", "accept", "--help").stdout
    assert "  EXPORT  " in invoke("audit", "--help").stdout


def test_tables_are_not_folded_to_80_columns_when_piped(example_workspace, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    r = subprocess.run([str(Path(sys.executable).parent / "scanguard"), "render", "--vendor", "nmap", "-w",
                        str(example_workspace)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "full-audit@payment-terminals" in line]
    assert len(rows) == 1 and "10.20.50.0/26, 10.30.8.21" in rows[0]  # the whole row on one line
    assert max(len(line) for line in r.stdout.splitlines()) > 80


def test_device_names_that_look_like_emoji_codes_are_printed_as_written(ws):
    r = invoke("check", "--targets", "10.40.10.5", "--template", "full-audit", "-w", str(ws))
    assert "nessus:family:SCADA" in r.stderr
