"""Proposals: written by `correlate --propose`, applied to the profile that owns the host."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scanguard import PortSet, ProfileChange, VendorCheck, load_workspace
from scanguard.cli.app import app
from scanguard.health import write_csv
from scanguard.proposal import Proposal, ProposalError, apply_proposals, read_proposals, write_proposals

from .timelines import dies_at, nmap_connects, nmap_log

TERMINAL = "10.30.8.21"  # a host of examples/hospital/profiles/pos-terminal.yaml


@pytest.fixture
def ws(tmp_path, example_workspace) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(example_workspace, root)
    return root


def port_proposal(port: str = "7200/tcp") -> Proposal:
    return Proposal(host=TERMINAL, change=ProfileChange(kind="excluded_port", ports=PortSet.parse(port),
                                                        reason="last before the failure in 2 of 2 runs",
                                                        evidence=("run 1: CONN 10.30.8.21:7200",)))


def test_proposal_goes_to_the_profile_that_owns_the_host_and_the_workspace_still_validates(ws):
    before = {p.name: p.read_text() for p in (ws / "profiles").glob("*.yaml")}

    applied = apply_proposals([port_proposal()], ws)

    assert [a.profile for a in applied] == ["pos-terminal"]
    changed = [n for n, text in before.items() if (ws / "profiles" / n).read_text() != text]
    assert changed == ["pos-terminal.yaml"]
    profile = load_workspace(ws).profile("pos-terminal")
    new = profile.constraints.excluded_ports[-1]
    assert new.ports == PortSet.parse("7200/tcp")
    assert new.reason == "last before the failure in 2 of 2 runs" and new.evidence == ["run 1: CONN 10.30.8.21:7200"]


def test_applying_keeps_the_rest_of_the_profile_text(ws):
    path = ws / "profiles" / "pos-terminal.yaml"
    old = path.read_text()

    apply_proposals([port_proposal()], ws)

    new = path.read_text()
    assert new.startswith(old.split("  excluded_checks:")[0])  # comments, folded reason, order: as written
    assert "# a terminal can turn up on any lane switch" in new


def test_a_failed_validation_rolls_the_profile_back(ws):
    path = ws / "profiles" / "pos-terminal.yaml"
    old = path.read_text()

    def refuse(_ws):
        raise ProposalError("compile refused it")

    with pytest.raises(ProposalError):
        apply_proposals([port_proposal()], ws, validate=refuse)
    assert path.read_text() == old


def test_a_looser_rate_limit_changes_nothing(ws):
    path = ws / "profiles" / "pos-terminal.yaml"
    old = path.read_text()
    loose = Proposal(host=TERMINAL, change=ProfileChange(kind="rate", packets_per_second=500, reason="burst"))

    [applied] = apply_proposals([loose], ws)

    assert not applied.changed and path.read_text() == old


def test_a_tighter_rate_limit_lowers_the_profile_limit_with_the_evidence(ws):
    tight = Proposal(host=TERMINAL, change=ProfileChange(kind="rate", packets_per_second=20, reason="died at 40/s",
                                                         evidence=("run 1: 40 probes/s",)))

    apply_proposals([tight], ws)

    rate = load_workspace(ws).profile("pos-terminal").constraints.rate
    assert rate.packets_per_second == 20
    assert "died at 40/s" in rate.reason and "run 1: 40 probes/s" in rate.evidence
    assert "INC-2024-0113" in rate.evidence


def test_a_host_no_profile_covers_is_refused(ws):
    stray = Proposal(host="192.0.2.7", change=port_proposal().change)

    with pytest.raises(ProposalError, match="no profile in the workspace covers host 192.0.2.7"):
        apply_proposals([stray], ws)


def test_an_excluded_check_round_trips_through_the_proposal_file(ws, tmp_path):
    change = ProfileChange(kind="excluded_check", check=VendorCheck(vendor="nessus", kind="plugin", id="99001"),
                           reason="launched last", evidence=("run 1",))
    path = write_proposals([Proposal(host=TERMINAL, change=change)], tmp_path / "p.yaml")

    apply_proposals(read_proposals(path), ws)

    last = load_workspace(ws).profile("pos-terminal").constraints.excluded_checks[-1]
    assert last.vendor == {"nessus": {"plugin": [99001]}}


def test_correlate_then_apply_proposal_from_the_command_line(ws, tmp_path):
    host = TERMINAL
    log = tmp_path / "scan.activity.log"
    log.write_text(nmap_log(nmap_connects([22, 443, 7200], start_s=1.0, step_s=0.2, host=host)))
    timeline = tmp_path / "health.csv"
    write_csv(dies_at(3.0, host=host), timeline)
    proposal = tmp_path / "proposal.yaml"
    runner = CliRunner()

    found = runner.invoke(app, ["correlate", "--vendor", "nmap", "--activity", str(log), "--health", str(timeline),
                                "--propose", str(proposal), "--workspace", str(ws), "--json"])
    assert found.exit_code == 3, found.output
    assert yaml.safe_load(proposal.read_text())["proposals"][0]["change"]["profile"] == "pos-terminal"

    applied = runner.invoke(app, ["apply-proposal", str(proposal), "--workspace", str(ws)])
    assert applied.exit_code == 0, applied.output
    ports = load_workspace(ws).profile("pos-terminal").constraints.excluded_ports[-1].ports
    assert ports == PortSet.parse("7200/tcp")


def test_a_rate_is_compared_as_the_loader_reads_it(ws):
    # `0100` is 100 packets/s to scanguard (YAML 1.2), so 80 is tighter and must be applied;
    # read by YAML 1.1 rules it would be octal 64, and the proposal dropped as "already stricter"
    path = ws / "profiles" / "pos-terminal.yaml"
    text = path.read_text()
    old = next(line for line in text.splitlines() if "packets_per_second:" in line)
    path.write_text(text.replace(old, old.split(":")[0] + ": 0100"))
    assert load_workspace(ws).profile("pos-terminal").constraints.rate.packets_per_second == 100
    tight = Proposal(host=TERMINAL, change=ProfileChange(kind="rate", packets_per_second=80, reason="died at 90/s"))

    [applied] = apply_proposals([tight], ws)

    assert applied.changed
    assert load_workspace(ws).profile("pos-terminal").constraints.rate.packets_per_second == 80


def test_a_proposal_file_with_aliases_is_refused_with_its_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("schema_version: 1\nproposals: &p [*p]\n")

    with pytest.raises(ProposalError, match=r"p\.yaml:2: .*aliases"):
        read_proposals(path)


def test_a_proposal_a_scanner_cannot_keep_is_rolled_back_with_the_refused_document(ws, tmp_path):
    # a printer on the clinical floors, which the Nessus scanner scans with the general templates
    (ws / "profiles" / "printer.yaml").write_text("id: printer\nname: Ward printers\npolicy: scan\n"
                                                  "location: {hosts: [10.20.5.5]}\n")
    delay = Proposal(host="10.20.5.5", change=ProfileChange(kind="rate", probe_delay_ms=200,
                                                            reason="the spooler drops jobs under bursts"))
    path = write_proposals([delay], tmp_path / "p.yaml")
    before = (ws / "profiles" / "printer.yaml").read_text()

    r = CliRunner().invoke(app, ["apply-proposal", str(path), "--workspace", str(ws), "--json"])

    assert r.exit_code == 3, r.output
    doc = yaml.safe_load(r.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"]) == ("apply-proposal", "refused", 3)
    assert "cannot keep 200 ms between probes" in doc["error"]
    assert (ws / "profiles" / "printer.yaml").read_text() == before
