"""MDS2 forms: the network answers and the manufacturer's port table, read from the spreadsheet
(.xlsx, written here with openpyxl the way a manufacturer's tool writes it) or its CSV export, drafted
into the profile's fingerprint and constraints like an advisory."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from typer.testing import CliRunner

from scanguard import PortSet, load_workspace
from scanguard.cli.app import app
from scanguard.kb import KnowledgeBase, accept, import_documents
from scanguard.kb.mds2 import Mds2Error, read_form, read_mds2
from tests.helpers import make_workspace

runner = CliRunner()

QUESTIONS = [
    ["Question ID", "Question", "Answer", "Note"],
    ["DOC-1", "Manufacturer Name", "Acme Medical"],
    ["DOC-3", "Device Model", "InfuseNet 3000"],
    ["DOC-4", "Document ID", "MDS2-INF-3000"],
    ["DOC-7", "Document Release Date", "2025-05-01"],
    ["CONN-1.1.1", "Does the device support Wi-Fi?", "Yes", ""],
    ["CONN-2", "Does the manufacturer provide a list of network ports and protocols that are used or may be used "
               "on the device?", "Yes", "See the Ports sheet; the pump also answers ICMP echo."],
    ["NAUT-2", "Are network access control mechanisms supported?", "No", ""],
    ["RMOT-1", "Does the device permit remote service connections?", "Yes", "Vendor VPN, off by default."],
    ["SAHD-8", "Are all communication ports and protocols that are not required disabled?", "Yes", ""],
    ["SAHD-13", "Does the product documentation include information on operational network security scanning by users?",
     "Yes", "Aggressive vulnerability scans reboot the pump. The telemetry service on port 7001/tcp crashes on "
            "malformed packets; exclude it from scans."],
]
PORTS = [
    ["Service", "Port Number", "Protocol", "Direction", "Status", "Notes"],
    ["HTTPS management", "443", "TCP", "Inbound", "Enabled by default", ""],
    ["Telemetry", "7001", "TCP", "Inbound/Outbound", "Enabled", ""],
    ["NTP", "123", "UDP", "Outbound", "Enabled", "client only"],
    ["Remote service", "5938", "TCP", "Inbound", "Disabled by default", ""],
]


def xlsx(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "MDS2"
    ws.append(["Manufacturer Disclosure Statement for Medical Device Security -- MDS2"])
    ws.append([])
    for row in QUESTIONS:
        ws.append(row)
    ports = wb.create_sheet("Ports")
    for row in PORTS:
        ports.append([int(c) if c.isdigit() else c for c in row])
    wb.save(path)
    return path


def shared_strings(path: Path) -> Path:
    """Rewrite an openpyxl workbook (inline strings) the way Excel saves one: text in a shared-string
    table (xl/sharedStrings.xml), cells pointing into it."""
    table: list[str] = []

    def to_shared(m: re.Match) -> str:
        table.append(m.group(2))
        return f'<c r="{m.group(1)}" t="s"><v>{len(table) - 1}</v></c>'

    out = path.with_name(path.stem + "-excel.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', to_shared,
                              data.decode()).encode()
            dst.writestr(item, data)
        sst = "".join(f"<si><t>{t}</t></si>" for t in table)
        dst.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(table)}" '
                     f'uniqueCount="{len(table)}">{sst}</sst>')
    return out


def csv_export(path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        for row in QUESTIONS + [[]] + PORTS:
            w.writerow(row)
    return path


@pytest.fixture(params=["xlsx", "excel-xlsx", "csv"])
def form(request, tmp_path) -> Path:
    if request.param == "csv":
        return csv_export(tmp_path / "form.csv")
    book = xlsx(tmp_path / "form.xlsx")
    return shared_strings(book) if request.param == "excel-xlsx" else book


def test_the_answers_and_the_port_table_are_read(form):
    f = read_form(form)
    assert f.answers["DOC-1"].answer == "Acme Medical" and f.answers["CONN-2"].answer == "Yes"
    assert f.answers["SAHD-13"].note.startswith("Aggressive vulnerability scans")
    rows = {r.service: r for r in f.ports}
    assert rows["Telemetry"].ports == PortSet.parse("7001/tcp") and rows["NTP"].ports == PortSet.parse("123/udp")
    assert rows["HTTPS management"].inbound() and not rows["NTP"].inbound() and not rows["Remote service"].enabled()


def test_the_fingerprint_is_the_inbound_ports_enabled_by_default(form):
    doc = read_mds2(form)
    assert doc.advisory.id == "MDS2-MDS2-INF-3000" and doc.advisory.kind == "mds2"
    assert doc.advisory.open_ports == PortSet.parse("443/tcp, 7001/tcp")
    [fp] = doc.proposals
    assert fp.change == {"kind": "fingerprint", "ports": "443/tcp, 7001/tcp"}
    assert any("5938/tcp" in n and "disabled by default" in n for n in doc.advisory.notes)
    assert any(n.startswith("SAHD-13") for n in doc.advisory.notes)


def test_the_notes_are_read_like_an_advisory(form):
    [f] = read_mds2(form).advisory.findings
    assert f.port_set() == PortSet.parse("7001/tcp")
    assert f.trigger_set() == {"scan", "malformed"}


def test_every_form_gives_the_same_record(tmp_path):
    book = xlsx(tmp_path / "f.xlsx")
    records = [read_mds2(p).advisory.model_copy(update={"source": "", "sha256": ""})
               for p in (book, shared_strings(book), csv_export(tmp_path / "f.csv"))]
    assert records[0] == records[1] == records[2]


def test_drafts_attach_to_the_matching_profile_and_accepting_sets_the_fingerprint(tmp_path):
    root = make_workspace(tmp_path / "ws", profiles={"pump.yaml": """
        id: infusion-pump
        name: Ward infusion pumps
        vendor: Acme Medical Inc.
        model: InfuseNet 3000
        location: {cidrs: [10.9.0.0/24]}
        fingerprint:
          open_ports: [443/tcp]
    """})
    r = runner.invoke(app, ["kb", "import", str(xlsx(tmp_path / "form.xlsx")), "--json", "-w", str(root)])
    assert r.exit_code == 0, r.output
    drafts = list(KnowledgeBase(root).drafts())
    assert {d.summary() for d in drafts} == {
        "fingerprint open ports 443/tcp, 7001/tcp", "exclude ports 7001/tcp", "exclude checks dos, fuzzing",
        "rate limit packets_per_second=50, parallel_checks_per_host=1", "safe checks only"}
    assert all(d.target.profile == "infusion-pump" for d in drafts)
    fp = next(d for d in drafts if d.change.kind == "fingerprint")
    port = next(d for d in drafts if d.change.kind == "excluded_port")

    accept(root, fp.id, by="biomed")
    accept(root, port.id, by="biomed")

    prof = load_workspace(root).profile("infusion-pump")
    assert prof.fingerprint.open_ports == PortSet.parse("443/tcp, 7001/tcp")
    assert prof.constraints.excluded_ports[0].ports == PortSet.parse("7001/tcp")
    assert prof.constraints.excluded_ports[0].reason.startswith("MDS2-MDS2-INF-3000: The telemetry service on port")
    assert "advisories" not in yaml.safe_load((root / "profiles" / "pump.yaml").read_text())  # a form is no advisory


def test_a_spreadsheet_that_is_no_mds2_form_is_refused(tmp_path):
    wb = Workbook()
    wb.active.append(["name", "value"])
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(Mds2Error, match="no MDS2 question ids"):
        read_form(tmp_path / "other.xlsx")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(Mds2Error, match="not an .xlsx workbook"):
        read_form(tmp_path / "fake.xlsx")


def test_a_workbook_with_an_entity_bomb_is_refused_naming_the_part(tmp_path):
    good = xlsx(tmp_path / "good.xlsx")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            dst.writestr(item, data)
    r = runner.invoke(app, ["kb", "import", str(bomb), "-w", str(make_workspace(tmp_path / "ws"))])
    assert r.exit_code == 2 and "xl/worksheets/sheet1.xml: refused" in " ".join(r.output.split())
    assert "Traceback" not in r.output
