"""Full trials against virtual devices with real nmap: the staged assessment finds the spot,
confirms it by a rerun, proposes the change and records it all."""

from __future__ import annotations

import sqlite3

from scanguard import load_workspace
from scanguard.sync.state import StateDB
from scanguard.testbed import load_personality, run_device
from scanguard.trial import run_trial
from scanguard.trial.store import latest_trial, record_trial

from .conftest import needs_nmap, quick

pytestmark = needs_nmap


def _truth(dev):
    return lambda: [f"{e.kind} {e.rule or ''} {e.port or ''}".strip() for e in dev.truth()]


def test_a_trial_finds_confirms_and_proposes_the_fatal_port_of_a_payment_terminal(lab, nmap_vendor, tmp_path):
    root = lab("lab-terminal", "127.0.0.201")
    ws = load_workspace(root)
    prof = ws.profiles[0]
    with run_device(load_personality("payment-terminal").with_recovery(delay_s=0.5), "127.0.0.201") as dev:
        result = run_trial(prof, dev.address, nmap_vendor, out_dir=tmp_path / "t", options=quick(dev.heartbeat_port),
                           reset=dev.reset, workspace=ws, ground_truth=_truth(dev))
        deaths = [e for e in dev.truth() if e.kind == "death"]
    assert result.outcome == "failed"
    failed = result.failed_stage()
    assert failed is not None and failed.name == "service" and failed.confirmed
    assert [r.label for r in failed.runs][-2:] == ["service 7100/tcp", "service 7100/tcp (rerun to confirm)"]
    assert len(failed.outages) == 2 and all(o.recovery.how == "came-back" for o in failed.outages)
    change = result.proposals[0]
    assert change.kind == "excluded_port" and change.ports.text() == "7100/tcp" and change.profile == "lab-terminal"
    # the ground truth agrees: both deaths were connects to 7100
    assert [(d.rule, d.port) for d in deaths] == [("connect", 7100), ("connect", 7100)]
    assert [s.status for s in result.stages if s.name in ("vulnerability", "speed")] == ["not-run", "not-run"]


def test_a_trial_is_recorded_in_the_state_database(lab, nmap_vendor, tmp_path):
    root = lab("lab-terminal", "127.0.0.202")
    ws = load_workspace(root)
    with run_device(load_personality("payment-terminal").with_recovery(delay_s=0.5), "127.0.0.202") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t",
                           options=quick(dev.heartbeat_port, stages=("discovery-syn", "service")), reset=dev.reset)
    with StateDB(ws.state_path()) as db:
        tid = record_trial(db, result, user="tester")
        back = latest_trial(db, "lab-terminal")
    assert back is not None and back.id == tid and back.outcome == "failed"
    assert back.findings[0].proposal.ports.text() == "7100/tcp"
    con = sqlite3.connect(ws.state_path())
    assert con.execute("SELECT COUNT(*) FROM trial_outages WHERE trial_id=?", (tid,)).fetchone()[0] == 2
    assert con.execute("SELECT status FROM trial_stages WHERE trial_id=? AND name='service'", (tid,)).fetchone()[0] == "failed"
    assert "7100" in con.execute("SELECT proposal FROM trial_findings WHERE trial_id=?", (tid,)).fetchone()[0]


def test_a_trial_recognises_the_rate_fragility_of_a_plc(lab, nmap_vendor, tmp_path):
    root = lab("lab-plc", "127.0.0.203")
    ws = load_workspace(root)
    # the PLC survives each port on its own and dies above 20 connections a second
    with run_device(load_personality("plc").with_recovery(delay_s=0.5), "127.0.0.203") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t",
                           options=quick(dev.heartbeat_port, stages=("discovery-syn", "service", "speed")),
                           reset=dev.reset, workspace=ws)
        rules = {e.rule for e in dev.truth() if e.kind == "death"}
    assert rules == {"rate"}
    assert [s.status for s in result.stages] == ["passed", "passed", "failed"]
    assert result.proposals[0].kind == "rate" and result.proposals[0].packets_per_second >= 1
    assert result.failed_stage().confirmed


def test_a_device_that_needs_a_reset_is_reset_and_the_trial_goes_on_to_confirm(lab, nmap_vendor, tmp_path):
    root = lab("lab-terminal", "127.0.0.204")
    ws = load_workspace(root)
    p = load_personality("payment-terminal").with_recovery(mode="reset")
    with run_device(p, "127.0.0.204") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t",
                           options=quick(dev.heartbeat_port, stages=("discovery-syn", "service"), reset_after_s=0.5), reset=dev.reset)
        recoveries = [e.how for e in dev.truth() if e.kind == "recovery"]
    assert recoveries == ["reset", "reset"]
    assert [o.recovery.how for o in result.outages()] == ["reset", "reset"]
    assert result.failed_stage().confirmed


def test_a_profile_that_already_excludes_the_port_lets_the_device_survive(lab, nmap_vendor, tmp_path):
    extra = ("constraints:\n  excluded_ports:\n    - ports: 7100/tcp\n      reason: it hangs the terminal\n"
             "      evidence: [INC-1]\n")
    root = lab("lab-terminal", "127.0.0.205", extra)
    ws = load_workspace(root)
    with run_device(load_personality("payment-terminal"), "127.0.0.205") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t",
                           options=quick(dev.heartbeat_port, stages=("discovery-syn", "discovery-connect", "service",
                                                                     "speed")))
        assert dev.is_up() and not [e for e in dev.truth() if e.kind == "death"]
    assert result.outcome == "survived" and not result.findings
    assert all(s.status == "passed" for s in result.stages)
    # the excluded port was never scanned
    assert not [e for e in result.activity if e.port == 7100]
