"""audit tells which scanner wrote an export from its content (the root element), whatever the
file is called: NessusClientData_v2, nmaprun, NexposeReport, a GMP report."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def every_plugin():
    common.reset_plugins(None)
    yield
    common.reset_plugins(None)


def audit(ws, path, *args: str):
    return runner.invoke(app, ["audit", str(path), "-w", str(ws), "--json", *args])


@pytest.mark.fixtures
@pytest.mark.parametrize("export, vendor", [
    ("nessus/basic-network-scan.nessus", "nessus"),
    ("nmap/version-scan.xml", "nmap"),
    ("nexpose/report-auth.xml", "insightvm"),
    ("gvm/report-detail-v2.xml", "gvm"),
])
def test_the_vendor_is_told_from_the_content_whatever_the_file_is_called(fixtures_dir, example_workspace, tmp_path,
                                                                          export, vendor):
    renamed = tmp_path / "export-from-the-scanner.dat"
    shutil.copy(fixtures_dir / "results" / export, renamed)
    r = audit(example_workspace, renamed)
    assert r.exit_code in (0, 3), r.stderr
    assert json.loads(r.stdout)["vendor"] == vendor


def test_an_insightvm_simple_xml_export_is_recognised_and_refused_with_the_reason(example_workspace, tmp_path):
    simple = tmp_path / "scan.xml"
    simple.write_text('<?xml version="1.0"?>\n<NeXposeSimpleXML version="1.0"><devices/></NeXposeSimpleXML>\n')
    r = audit(example_workspace, simple)
    assert r.exit_code == 2
    assert "InsightVM simple XML export (NeXposeSimpleXML)" in json.loads(r.stdout)["error"]


def test_a_file_no_vendor_writes_is_invalid_input_naming_its_root(example_workspace, tmp_path):
    other = tmp_path / "other.xml"
    other.write_text("<inventory><host/></inventory>")
    r = audit(example_workspace, other)
    assert r.exit_code == 2
    error = json.loads(r.stdout)["error"]
    assert "root element <inventory>" in error and "<nmaprun> (nmap)" in error and "pass --vendor" in error
