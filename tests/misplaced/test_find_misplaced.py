"""`scanguard find-misplaced`: profiled devices recognised by their fingerprint in any vendor's
export, wherever they turn up; real exports with devices planted in copies of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scanguard.cli.app import app
from tests.misplaced.devices import VENDORS, Device, Service, nmap_export, write_planted

runner = CliRunner()
ROUTED_TERMINAL = Device(address="10.99.1.5", services=(Service(443, name="https"),
                                                        Service(7100, name="tms", product="Ingenico TMS")))
"""The routed nmap example of the issue: 443/tcp and 7100/tcp open, product "Ingenico TMS", no MAC."""
LOOK_ALIKES = [
    Device(address="10.99.2.1", label="another vendor's terminal on 443 and 7100",
           services=(Service(443, name="https", subject_o="Verifone"), Service(7100, name="tms", product="Verifone TMS"))),
    Device(address="10.99.2.2", label="a generic web server on 443 and an unrelated service on 7100",
           services=(Service(443, name="https", product="nginx", http_title="Welcome to nginx!"),
                     Service(7100, name="font-service", product="X11 font server"))),
    Device(address="10.99.2.3", label="a device with an Ingenico MAC but none of the terminal's ports",
           mac="00:03:81:12:34:56", services=(Service(80, name="http", product="lighttpd"),)),
    Device(address="10.99.2.4", label="a web server on 443 whose page talks about Ingenico TMS",
           services=(Service(443, name="https", product="Apache httpd", http_title="Ingenico TMS admin portal"),)),
]


def run(*args: str | Path, workspace: Path):
    return runner.invoke(app, ["find-misplaced", *map(str, args), "--workspace", str(workspace)])


def as_json(*args: str | Path, workspace: Path) -> tuple[int, dict]:
    r = run(*args, "--json", workspace=workspace)
    assert r.exit_code in (0, 3), r.stderr
    return r.exit_code, json.loads(r.stdout)


@pytest.mark.fixtures
@pytest.mark.parametrize("vendor", VENDORS)
def test_the_routed_terminal_is_reported_as_the_payment_terminal_in_every_vendors_export(
        vendor, fixtures_dir, example_workspace, tmp_path):
    export = write_planted(fixtures_dir, tmp_path, vendor, [ROUTED_TERMINAL])

    code, doc = as_json(export, workspace=example_workspace)

    assert code == 3
    assert doc["exports"][0]["vendor"] == vendor  # told from the file's root element
    (found,) = doc["misplaced"]
    assert (found["address"], found["profile"], found["score"], found["threshold"]) == (
        "10.99.1.5", "pos-terminal", 4, 4)
    text = "\n".join(found["evidence"])
    assert "443/tcp open" in text and "7100/tcp open" in text and "Ingenico TMS" in text


@pytest.mark.fixtures
@pytest.mark.parametrize("vendor", VENDORS)
def test_look_alikes_are_not_reported(vendor, fixtures_dir, example_workspace, tmp_path):
    export = write_planted(fixtures_dir, tmp_path, vendor, LOOK_ALIKES)

    code, doc = as_json(export, workspace=example_workspace)

    assert (code, doc["misplaced"], doc["changed"]) == (0, [], [])
    assert doc["exports"][0]["hosts"] >= len(LOOK_ALIKES)


@pytest.mark.fixtures
def test_the_real_exports_of_every_vendor_hold_no_profiled_device(fixtures_dir, example_workspace):
    exports = sorted(p for d in ("nmap", "nessus", "gvm", "nexpose") for p in (fixtures_dir / "results" / d).iterdir())

    code, doc = as_json(*exports, workspace=example_workspace)

    assert code == 0 and doc["misplaced"] == [] and doc["changed"] == []
    assert {e["vendor"] for e in doc["exports"]} == {"nmap", "nessus", "gvm", "insightvm"}


def test_the_text_report_shows_the_device_and_its_evidence(example_workspace, tmp_path):
    export = tmp_path / "routed.xml"
    export.write_text(nmap_export([ROUTED_TERMINAL]))

    r = run(export, workspace=example_workspace)

    assert r.exit_code == 3
    assert "10.99.1.5" in r.stdout and "pos-terminal" in r.stdout and "Ingenico" in r.stdout
    assert "1 misplaced" in r.stderr


def test_a_host_in_the_terminals_location_that_cannot_be_one_is_reported_as_changed(example_workspace, tmp_path):
    # 443 and 7100 were probed and are closed; an SSH server answers instead
    export = tmp_path / "lane.xml"
    export.write_text(nmap_export([Device(address="10.20.50.7", services=(Service(22, name="ssh", product="OpenSSH"),))],
                                  services="22,443,7100"))

    code, doc = as_json(export, workspace=example_workspace)

    assert code == 3 and doc["misplaced"] == []
    (changed,) = doc["changed"]
    assert (changed["address"], changed["profile"]) == ("10.20.50.7", "pos-terminal")
    assert any("443/tcp probed, not open" in c and "required" in c for c in changed["contradictions"])
    (finding,) = doc["findings"]
    assert finding["proposal"] is None  # a person decides: the address stays protected


def test_a_host_in_the_location_the_export_cannot_judge_is_unverified_never_fine(example_workspace, tmp_path):
    # a scan that kept off 443 and 7100 (as the terminals' templates do) cannot tell
    export = tmp_path / "lane.xml"
    export.write_text(nmap_export([Device(address="10.20.50.8", services=(Service(22, name="ssh"),))], services="22"))

    r = run(export, workspace=example_workspace)
    code, doc = as_json(export, workspace=example_workspace)

    assert code == 0 and doc["changed"] == [] and doc["misplaced"] == []
    assert [(u["address"], u["profile"]) for u in doc["unverified"]] == [("10.20.50.8", "pos-terminal")]
    assert "cannot tell whether it is that device" in r.stderr and "not everything could be judged" in r.stderr


def test_the_terminal_at_its_own_address_is_no_finding(example_workspace, tmp_path):
    export = tmp_path / "lane.xml"
    export.write_text(nmap_export([Device(address="10.30.8.21", services=ROUTED_TERMINAL.services)]))

    code, doc = as_json(export, workspace=example_workspace)

    assert (code, doc["misplaced"], doc["changed"], doc["unverified"]) == (0, [], [], [])


def test_propose_writes_a_location_change_that_apply_proposal_applies_with_the_evidence(example_workspace, tmp_path):
    ws = tmp_path / "hospital"
    shutil.copytree(example_workspace, ws)
    export = tmp_path / "routed.xml"
    export.write_text(nmap_export([ROUTED_TERMINAL]))
    proposal = tmp_path / "move.yaml"

    first = run(export, "--propose", proposal, workspace=ws)
    applied = runner.invoke(app, ["apply-proposal", str(proposal), "--workspace", str(ws), "--json"])
    again = run(export, workspace=ws)

    assert first.exit_code == 3 and applied.exit_code == 0, applied.stderr
    (change,) = yaml.safe_load(proposal.read_text())["proposals"]
    assert change["change"]["kind"] == "location" and change["change"]["hosts"] == ["10.99.1.5"]
    text = (ws / "profiles" / "pos-terminal.yaml").read_text()
    assert yaml.safe_load(text)["location"]["hosts"] == ["10.30.8.21", "10.99.1.5"]
    comment = text[: text.index('"10.99.1.5"')]
    assert "find-misplaced" in comment and 'product "Ingenico TMS" on 7100/tcp' in comment
    assert again.exit_code == 0  # now where its profile says it is


def test_findings_can_be_written_for_defectdojo(example_workspace, tmp_path):
    export = tmp_path / "routed.xml"
    export.write_text(nmap_export([ROUTED_TERMINAL]))

    r = run(export, "--format", "defectdojo", workspace=example_workspace)

    (finding,) = json.loads(r.stdout)["findings"]
    assert r.exit_code == 3 and finding["severity"] == "High" and finding["endpoints"] == [{"host": "10.99.1.5"}]
    assert "pos-terminal" in finding["title"] and "Ingenico TMS" in finding["description"]


def test_the_vendor_comes_from_the_content_not_the_file_name(example_workspace, tmp_path):
    export = tmp_path / "looks-like.nessus"
    export.write_text(nmap_export([ROUTED_TERMINAL]))

    code, doc = as_json(export, workspace=example_workspace)

    assert code == 3 and doc["exports"][0]["vendor"] == "nmap"


def test_an_export_no_vendor_writes_is_refused_naming_the_file(example_workspace, tmp_path):
    export = tmp_path / "inventory.xml"
    export.write_text("<inventory><asset/></inventory>")

    r = run(export, workspace=example_workspace)

    assert r.exit_code == 2 and "inventory.xml" in r.stderr and "<inventory>" in r.stderr and "--vendor" in r.stderr


def test_a_hostile_export_is_refused_naming_the_file(example_workspace, tmp_path):
    export = tmp_path / "bomb.xml"
    export.write_text('<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
                      "<nmaprun><host><address addr='&b;' addrtype='ipv4'/></host></nmaprun>")

    r = run(export, workspace=example_workspace)

    assert r.exit_code == 2 and "bomb.xml" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_export_is_invalid_input(example_workspace, tmp_path):
    r = run(tmp_path / "nope.xml", workspace=example_workspace)

    assert r.exit_code == 2 and "nope.xml: no such file" in r.stderr


@pytest.mark.fixtures
def test_one_device_in_several_exports_is_one_finding_naming_every_export(fixtures_dir, example_workspace, tmp_path):
    exports = [write_planted(fixtures_dir, tmp_path, v, [ROUTED_TERMINAL]) for v in VENDORS]

    code, doc = as_json(*exports, workspace=example_workspace)

    (found,) = doc["misplaced"]
    assert code == 3 and len(found["exports"]) == 4
    assert len(doc["proposals"]) == 1


def test_the_example_export_shows_a_misplaced_terminal_and_a_changed_lane(example_workspace):
    code, doc = as_json(example_workspace.parent / "exports" / "lane-switch.xml", workspace=example_workspace)

    assert code == 3
    assert [(s["address"], s["profile"]) for s in doc["misplaced"]] == [("10.99.1.5", "pos-terminal")]
    assert [(s["address"], s["profile"]) for s in doc["changed"]] == [("10.20.50.7", "pos-terminal")]


def test_a_host_that_fits_two_profiles_equally_gets_no_proposal(tmp_path):
    from tests.helpers import make_workspace

    twin = "id: {id}\nname: {id}\nlocation:\n  cidrs: [10.20.50.0/26]\nfingerprint:\n  open_ports: [443/tcp]\n  banners: [Ingenico TMS]\n"
    ws = make_workspace(tmp_path / "ws", {"a.yaml": twin.format(id="pos-a"), "b.yaml": twin.format(id="pos-b")})
    export = tmp_path / "routed.xml"
    export.write_text(nmap_export([ROUTED_TERMINAL]))

    code, doc = as_json(export, workspace=ws)

    assert code == 3 and {s["profile"] for s in doc["misplaced"]} == {"pos-a", "pos-b"}
    assert doc["proposals"] == [] and all("No location change is proposed" in f["description"] for f in doc["findings"])
