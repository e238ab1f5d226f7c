"""Bad documents are reported with their path and skipped, never a traceback; the good ones around
them are imported; an older revision never replaces a newer one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanguard.cli.app import app
from scanguard.kb import KnowledgeBase, import_documents
from tests.helpers import make_workspace

runner = CliRunner()

GOOD = {
    "document": {
        "category": "csaf_security_advisory", "csaf_version": "2.0", "title": "Acme Widget PLC",
        "references": [{"category": "self", "url": "https://example.org/advisories/acme-1"}],
        "tracking": {"id": "ACME-2099-01", "version": "2", "current_release_date": "2099-01-02T00:00:00Z"},
    },
    "product_tree": {"branches": [{"category": "vendor", "name": "Acme", "branches": [
        {"category": "product_name", "name": "Widget PLC", "branches": [
            {"category": "product_version_range", "name": "vers:all/<2.4",
             "product": {"name": "Widget PLC < 2.4", "product_id": "P1"}}]}]}]},
    "vulnerabilities": [{
        "cve": "CVE-2099-0001", "cwe": {"id": "CWE-20", "name": "Improper Input Validation"},
        "notes": [{"category": "summary", "text": "Specially crafted packets sent to TCP port 2099 halt the PLC."}],
        "product_status": {"known_affected": ["P1"]},
        "remediations": [{"category": "mitigation", "details": "Block port 2099/tcp.", "product_ids": ["P1"]}],
    }],
}


def write(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.fixture
def ws(tmp_path) -> Path:
    return make_workspace(tmp_path / "ws", profiles={"widget.yaml": """
        id: widget
        name: Widget PLCs
        vendor: Acme Inc.
        model: Widget PLC
        firmware: "2.3"
    """})


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "advisories"
    (d / "nested").mkdir(parents=True)
    write(d / "nested" / "good.json", GOOD)
    write(d / "truncated.json", json.dumps(GOOD)[:200])
    write(d / "not-csaf.json", {"hello": "world"})
    write(d / "csaf-1.json", {"document": {"csaf_version": "1.2", "tracking": {"id": "X"}}})
    bad = json.loads(json.dumps(GOOD))
    bad["document"]["tracking"]["id"] = "ACME-2099-02"
    bad["vulnerabilities"] = {"not": "a list"}
    write(d / "wrong-shape.json", bad)
    write(d / "binary.json", "\x00\xff")
    (d / "readme.txt").write_text("not a document, not even looked at")
    return d


def test_each_bad_document_is_named_and_skipped_and_the_good_one_imported(ws, folder):
    r = runner.invoke(app, ["kb", "import", str(folder), "-w", str(ws)])

    assert r.exit_code == 2
    assert "Traceback" not in r.output
    for name, why in (("truncated.json", "not valid JSON"), ("not-csaf.json", "'document' is not an object"),
                      ("csaf-1.json", "not a CSAF 2.x document"), ("wrong-shape.json", "'vulnerabilities' is not a list"),
                      ("binary.json", "not valid JSON")):
        assert f"{folder / name}: {why}" in " ".join(r.output.split()), name
    assert "readme.txt" not in r.output
    assert KnowledgeBase(ws).load_advisory("ACME-2099-01") is not None


def test_the_import_report_in_json_names_the_problems(ws, folder):
    r = runner.invoke(app, ["kb", "import", str(folder), "--json", "-w", str(ws)])
    doc = json.loads(r.stdout)
    assert doc["import"]["imported"] == ["ACME-2099-01"] and doc["import"]["documents"] == 6
    assert sorted(Path(p["path"]).name for p in doc["import"]["problems"]) == [
        "binary.json", "csaf-1.json", "not-csaf.json", "truncated.json", "wrong-shape.json"]
    [d] = [x for x in doc["new_drafts"] if x["change"]["kind"] == "excluded_port"]
    assert d["target"]["profile"] == "widget" and d["change"]["ports"] == "2099/tcp"
    assert "firmware 2.3 is affected" in d["target"]["why"]


def test_a_missing_path_is_a_problem_not_a_crash(ws, tmp_path):
    r = runner.invoke(app, ["kb", "import", str(tmp_path / "nowhere.json"), "-w", str(ws)])
    assert r.exit_code == 2 and "nowhere.json: cannot read" in r.output and "Traceback" not in r.output


def test_all_good_documents_exit_zero(ws, tmp_path):
    r = runner.invoke(app, ["kb", "import", str(write(tmp_path / "a.json", GOOD)), "-w", str(ws)])
    assert r.exit_code == 0, r.output


def test_an_older_revision_does_not_replace_the_stored_one(ws, tmp_path):
    kb = KnowledgeBase(ws)
    import_documents([write(tmp_path / "new.json", GOOD)], kb, [])
    old = json.loads(json.dumps(GOOD))
    old["document"]["tracking"]["version"] = "1"
    old["vulnerabilities"][0]["notes"][0]["text"] = "Crafted packets to port 1/tcp crash it."

    report = import_documents([write(tmp_path / "old.json", old)], kb, [])

    assert report.older == ("ACME-2099-01",)
    assert kb.load_advisory("ACME-2099-01").findings[0].port_set().text() == "2099/tcp"


def test_a_newer_revision_replaces_the_undecided_drafts_and_keeps_the_decided_ones(ws, tmp_path):
    from scanguard.kb import accept

    kb = KnowledgeBase(ws)
    import_documents([write(tmp_path / "v2.json", GOOD)], kb, [])
    port = next(d for d in kb.drafts() if d.change.kind == "excluded_port")
    accept(ws, port.id, by="tester")
    newer = json.loads(json.dumps(GOOD))
    newer["document"]["tracking"]["version"] = "3"
    newer["vulnerabilities"][0]["notes"][0]["text"] = "A flood of packets to TCP port 2100 halts the PLC."

    report = import_documents([write(tmp_path / "v3.json", newer)], kb, [])

    assert report.updated == ("ACME-2099-01",)
    drafts = {d.id: d for d in kb.drafts()}
    assert drafts[port.id].status == "accepted"  # the decision stays on record
    assert {d.summary() for d in drafts.values() if d.status == "draft"} == {
        "exclude ports 2100/tcp", "rate limit packets_per_second=50, parallel_checks_per_host=1"}


def test_unknown_draft_ids_and_bad_status_are_invalid_input(ws):
    r = runner.invoke(app, ["kb", "accept", "no-such-draft", "-w", str(ws)])
    assert r.exit_code == 2 and "no draft 'no-such-draft'" in r.output
    r = runner.invoke(app, ["kb", "review", "--status", "maybe", "-w", str(ws)])
    assert r.exit_code == 2


def test_a_damaged_drafts_file_is_named(ws, tmp_path):
    import_documents([write(tmp_path / "a.json", GOOD)], KnowledgeBase(ws), [])
    path = KnowledgeBase(ws).drafts_path("ACME-2099-01")
    path.write_text(path.read_text().replace("status: draft", "status: maybe", 1))
    r = runner.invoke(app, ["kb", "review", "-w", str(ws)])
    assert r.exit_code == 2 and "ACME-2099-01.yaml: drafts[0].status" in r.output and "Traceback" not in r.output


def test_a_drafts_file_with_an_alias_bomb_is_refused_with_its_line(ws, tmp_path):
    import_documents([write(tmp_path / "a.json", GOOD)], KnowledgeBase(ws), [])
    path = KnowledgeBase(ws).drafts_path("ACME-2099-01")
    path.write_text(path.read_text() + "lol: &a [x, x, x, x, x, x, x, x, x]\nlol2: &b [*a, *a, *a, *a, *a, *a]\n")
    r = runner.invoke(app, ["kb", "review", "-w", str(ws)])
    assert r.exit_code == 2 and "ACME-2099-01.yaml:" in r.output and "aliases" in r.output


@pytest.mark.fixtures
def test_the_whole_fixture_folder_imports_without_a_problem(ws, fixtures_dir, tmp_path):
    src = tmp_path / "csaf"
    shutil.copytree(fixtures_dir / "advisories" / "csaf", src)
    report = import_documents([src], KnowledgeBase(ws), [])
    assert report.documents == 218 and not report.problems and len(report.imported) == 218
