"""The knowledge-base workflow on the real advisories and the example hospital: import drafts
changes with their evidence, compile ignores them, a person accepts or rejects, and an accepted
draft changes the rendered templates and is what `explain` names."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scanguard import PortSet, compile_plan, load_workspace
from scanguard.cli.app import app
from scanguard.kb import KnowledgeBase, accept, import_documents, reject
from scanguard.kb.evaluate import load_labels
from scanguard.proposal import ProposalError

LABELS = Path(__file__).parent / "data" / "advisory_labels.yaml"
pytestmark = pytest.mark.fixtures
runner = CliRunner()


@pytest.fixture(scope="module")
def imported(tmp_path_factory, example_workspace, fixtures_dir) -> Path:
    """The example hospital with every fixture advisory imported once (copied by each test)."""
    root = tmp_path_factory.mktemp("kb") / "ws"
    shutil.copytree(example_workspace, root)
    ws = load_workspace(root)
    import_documents([fixtures_dir / "advisories" / "csaf"], KnowledgeBase(root), ws.profiles)
    return root


@pytest.fixture
def ws(imported, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(imported, root)
    return root


def tree_digest(root: Path) -> dict[str, str]:
    # every file but the load cache, which any load of the workspace may write (README, "How
    # workspace files are read")
    cache = root / ".scanguard" / "cache"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and cache not in p.parents}


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def cli(*args: str):
    return runner.invoke(app, list(args))


def draft_for(root: Path, advisory: str, kind: str, profile: str | None = None):
    return next(d for d in KnowledgeBase(root).drafts()
                if d.advisory == advisory and d.change.kind == kind and (profile is None or d.target.profile == profile))


def test_every_advisory_that_names_a_port_and_a_crash_gets_a_port_draft_with_its_evidence(imported, fixtures_dir):
    kb = KnowledgeBase(imported)
    drafts = list(kb.drafts())
    labelled = [lab for lab in load_labels(LABELS) if lab.crash and lab.ports]
    assert len(labelled) >= 50
    missed = []
    for lab in labelled:
        mine = [d for d in drafts if d.advisory == lab.id and d.change.kind == "excluded_port"]
        if not mine:
            missed.append(lab.id)
            continue
        adv = kb.load_advisory(lab.id)
        doc = fixtures_dir / "advisories" / "csaf" / adv.source
        source = words(" ".join(json.dumps(json.loads(doc.read_text())).split("\\n")))
        for d in mine:
            assert d.change.evidence[:2] == (lab.id, adv.url) and adv.url.startswith("https://")
            assert d.change.reason.startswith(lab.id) and d.sentence in d.change.reason
            assert words(d.sentence).replace('"', '\\"')[:60] in source  # the sentence is the advisory's own
            assert d.status == "draft"
    assert len(missed) <= 2, missed  # what the labels call a port crash, the extractor drafts


def test_importing_again_changes_no_file(ws, fixtures_dir, tmp_path, monkeypatch):
    before = tree_digest(ws)
    monkeypatch.chdir(fixtures_dir / "advisories")  # the same documents, named by another path
    report = import_documents([Path("csaf")], KnowledgeBase(ws), load_workspace(ws).profiles)
    assert len(report.unchanged) == 218 and not report.imported and not report.new_drafts
    assert tree_digest(ws) == before


def test_drafts_are_not_compiled_until_accepted(ws, example_workspace):
    assert compile_plan(load_workspace(ws)) == compile_plan(load_workspace(example_workspace))
    for p in (example_workspace / "profiles").glob("*.yaml"):
        assert (ws / "profiles" / p.name).read_text() == p.read_text()


def test_accepting_a_draft_changes_the_rendered_templates_and_explain_names_the_advisory(ws, tmp_path):
    d = draft_for(ws, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")
    assert cli("render", "--vendor", "nmap", "--out", str(tmp_path / "before"), "-w", str(ws)).exit_code == 0

    r = cli("kb", "accept", d.id[:18], "--by", "Dr. A. Weber", "--note", "inventory checked", "-w", str(ws))

    assert r.exit_code == 0, r.output
    assert cli("render", "--vendor", "nmap", "--out", str(tmp_path / "after"), "-w", str(ws)).exit_code == 0
    before = (tmp_path / "before" / "nmap" / "full-audit@ot-network.sh").read_text()
    after = (tmp_path / "after" / "nmap" / "full-audit@ot-network.sh").read_text()
    assert "--exclude-ports T:443,7100" in before and "--exclude-ports T:22,443,7100" in after
    ex = cli("explain", "full-audit@ot-network", "--port", "22/tcp", "--json", "-w", str(ws))
    [because] = json.loads(ex.stdout)["explanation"]["because"]
    assert because["reason"].startswith("ICSA-19-227-03 (CVE-2019-10927): An authenticated attacker with network access")
    assert because["evidence"][:2] == ["ICSA-19-227-03", "https://www.cisa.gov/news-events/ics-advisories/icsa-19-227-03"]
    text = cli("explain", "full-audit@ot-network", "--port", "22/tcp", "-w", str(ws)).stdout
    assert "ICSA-19-227-03" in text and "22/tcp removed from full-audit@ot-network by ot-switch-scalance" in text


def test_an_accepted_change_is_a_reviewable_edit_of_the_profile_yaml(ws):
    path = ws / "profiles" / "scalance.yaml"
    old = path.read_text()
    d = draft_for(ws, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")

    accept(ws, d.id, by="tester")

    new = path.read_text()
    assert new.startswith(old.split("advisories:")[0])  # the rest of the file as the team wrote it
    data = yaml.safe_load(new)
    assert "ICSA-19-227-03" in data["advisories"]
    assert data["constraints"]["excluded_ports"][-1]["ports"] == "22/tcp"
    assert load_workspace(ws).profile("ot-switch-scalance").constraints.excluded_ports[-1].ports == PortSet.parse("22/tcp")


def test_the_decision_is_recorded_with_who_and_when(ws):
    d = draft_for(ws, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")
    accept(ws, d.id, by="Dr. A. Weber", note="inventory checked")

    stored = yaml.safe_load(KnowledgeBase(ws).drafts_path("ICSA-19-227-03").read_text())
    [rec] = [x for x in stored["drafts"] if x["id"] == d.id]
    assert rec["status"] == "accepted"
    [dec] = rec["decisions"]
    assert dec["action"] == "accepted" and dec["by"] == "Dr. A. Weber" and dec["note"] == "inventory checked"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", dec["at"]) and dec["file"] == "profiles/scalance.yaml"
    assert dec["changed"] is True


def test_a_rejected_draft_changes_no_profile_and_is_recorded(ws):
    before = tree_digest(ws / "profiles")
    d = draft_for(ws, "ICSA-21-047-02", "excluded_check", "plc-micrologix-1100")

    r = cli("kb", "reject", d.id, "--by", "ot-team", "--note", "DoS checks already off", "--json", "-w", str(ws))

    assert r.exit_code == 0, r.output
    [out] = json.loads(r.stdout)["rejected"]
    assert out["status"] == "rejected" and out["decisions"][-1]["by"] == "ot-team"
    assert tree_digest(ws / "profiles") == before
    assert compile_plan(load_workspace(ws)) == compile_plan(load_workspace(ws))


def test_an_accepted_draft_cannot_be_rejected_afterwards(ws):
    d = draft_for(ws, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")
    accept(ws, d.id, by="tester")
    r = cli("kb", "reject", d.id, "-w", str(ws))
    assert r.exit_code == 2 and "was accepted by tester" in r.output and "Traceback" not in r.output


def test_a_draft_the_profile_already_holds_is_accepted_without_a_change(ws):
    d = draft_for(ws, "ICSA-18-254-05", "excluded_port", "ot-switch-scalance")
    assert d.covered
    before = (ws / "profiles" / "scalance.yaml").read_text()
    done = accept(ws, d.id, by="tester")
    assert done.decisions[-1].changed is False and (ws / "profiles" / "scalance.yaml").read_text() == before


def test_a_draft_without_a_matching_profile_proposes_a_new_one_and_accepting_writes_it(ws):
    drafts = [d for d in KnowledgeBase(ws).drafts() if d.advisory == "ICSA-18-263-02"]
    assert drafts and all(d.target.new_profile is not None for d in drafts)
    assert drafts[0].target.new_profile.vendor == "Rockwell Automation"
    for d in drafts:
        accept(ws, d.id, by="tester")
    prof = load_workspace(ws).profile(drafts[0].target.name())
    assert prof is not None and prof.model == "RSLinx Classic" and prof.advisories == ["ICSA-18-263-02"]
    assert PortSet.parse("44818/tcp").issubset(prof.constraints.excluded_ports[0].ports)
    general = compile_plan(load_workspace(ws)).get("full-audit")
    assert not general.template.ports.contains(44818)  # no location yet: it narrows every general template


def test_a_failed_validation_rolls_the_profile_back_and_records_nothing(ws):
    d = draft_for(ws, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")
    before = tree_digest(ws)

    def refuse(_ws):
        raise ProposalError("a vendor cannot express it")

    with pytest.raises(ProposalError):
        accept(ws, d.id, by="tester", validate=refuse)
    assert tree_digest(ws) == before


def test_matching_scores_profiles_by_vendor_model_and_listed_advisory(imported):
    drafts = list(KnowledgeBase(imported).drafts())
    listed = draft_for(imported, "ICSA-22-011-01", "rate", "video-nvr")
    assert listed.target.score == 1.0 and "lists ICSA-22-011-01" in listed.target.why
    by_name = draft_for(imported, "ICSA-19-227-03", "excluded_port", "ot-switch-scalance")
    assert 0.6 <= by_name.target.score < 1.0 and "model" in by_name.target.why
    # SCALANCE W1750D is not the SCALANCE X-200 of the profile; MicroLogix 1400 not the 1100
    assert not [d for d in drafts if d.advisory == "ICSA-17-332-01" and d.target.profile]
    assert not [d for d in drafts if d.advisory == "ICSA-21-033-01" and d.target.profile]


def test_search_finds_advisories_by_vendor_product_and_cve(imported):
    for query, expect in (("CVE-2018-13807", "ICSA-18-254-05"), ("scalance x", "ICSA-18-254-05"),
                          ("contec", "ICSMA-22-244-01"), ("johnson controls videoedge", "ICSA-22-011-01")):
        r = cli("kb", "search", query, "--json", "-w", str(imported))
        assert r.exit_code == 0
        assert expect in [a["id"] for a in json.loads(r.stdout)["advisories"]], query
    assert json.loads(cli("kb", "search", "no-such-vendor-xyz", "--json", "-w", str(imported)).stdout)["advisories"] == []


def test_review_lists_undecided_drafts_with_evidence(imported):
    r = cli("kb", "review", "--profile", "ot-switch-scalance", "--json", "-w", str(imported))
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["drafts"]
    for d in doc["drafts"]:
        assert d["status"] == "draft" and d["target"]["profile"] == "ot-switch-scalance"
        assert d["sentence"] and d["url"].startswith("https://") and d["summary"]
    text = cli("kb", "review", "--advisory", "ICSA-19-227-03", "-w", str(imported)).stdout
    assert "exclude ports 22/tcp" in text and "port 22/tcp of an affected device may cause a Denial-of-Service" in text


def test_accept_reports_in_json_what_it_changed(ws):
    d = draft_for(ws, "ICSA-23-236-02", "excluded_port", "plc-opto22-snap")
    r = cli("kb", "accept", d.id, "--by", "ot-team", "--json", "-w", str(ws))
    assert r.exit_code == 0, r.output
    [out] = json.loads(r.stdout)["accepted"]
    assert out["id"] == d.id and out["status"] == "accepted" and out["summary"] == "exclude ports 443/tcp"
    assert out["decisions"][-1] == {**out["decisions"][-1], "by": "ot-team", "profile": "plc-opto22-snap",
                                    "file": "profiles/opto22.yaml", "changed": True}
