"""The .nessus Policy section: real exports read (families, port scanners), importable files written."""

import io

import pytest

from scanguard import CannotEnforce, CompiledTemplate, PortSet, ScanTemplate, compile_plan, load_workspace, violations
from scanguard_tenable_policy import (
    PORT_SCANNER_FAMILY,
    PolicyFileUnavailable,
    default_ports,
    parse_document,
    parse_range,
    read_policy,
    read_policy_file,
    read_selection,
    recorded_families,
    render_document,
    render_policy_file,
    render_range,
)


def _ct(**template) -> CompiledTemplate:
    return CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", **template))


def test_range_text_round_trips():
    ports = PortSet.parse("1-7099,7101-65535,53/udp,161/udp")
    assert parse_range(render_range(ports)) == ports


def test_range_prefix_holds_until_the_next_one():
    assert parse_range("T:1-10,20,U:53,67") == PortSet.parse("1-10,20,53/udp,67/udp")


def test_unprefixed_range_covers_tcp_and_udp():
    assert parse_range("80,443") == PortSet.parse("80,443,80/udp,443/udp")


def test_default_and_all():
    assert parse_range("all") == PortSet.all()
    assert default_ports().contains(80) and not default_ports().contains(6)
    assert default_ports().contains(7100)  # Nessus's default range probes the payment terminals' port


def test_a_bad_range_names_the_item():
    with pytest.raises(ValueError, match="70000"):
        parse_range("1-70000")


@pytest.mark.fixtures
def test_the_recorded_policy_export_lists_every_family_and_the_port_scanners_that_run(fixtures_dir):
    path = fixtures_dir / "nessus" / "policy-export.nessus"
    with path.open("rb") as f:
        sel = read_selection(f, str(path))
    assert len(sel.families) == 54 and sel.families[PORT_SCANNER_FAMILY] == "mixed"
    assert sel.families["Policy Compliance"] == "disabled"
    assert sel.port_scanners() == {"34220", "14272", "11219", "10180"}


@pytest.mark.fixtures
def test_the_recorded_policy_export_reads_conservatively(fixtures_dir):
    doc = read_policy_file(fixtures_dir / "nessus" / "policy-export.nessus")
    t = parse_document(doc)
    assert doc.template == "basic"  # its wizard_uuid
    assert doc.disabled_families == ("Mobile Devices", "Policy Compliance") and t.checks.enabled
    # the export carries no port range and no unscanned_closed: Nessus's defaults, every port may be probed
    assert t.ports == PortSet.all() and t.discovery.port_scan == "syn"
    assert doc.settings["syn_scanner"] == "yes" and doc.settings["tcp_scanner"] == "no"
    assert doc.settings["ping_the_remote_host"] == "yes" and doc.settings["tcp_ping_dest_ports"] == "built-in"


@pytest.mark.fixtures
@pytest.mark.parametrize("name", ["basic-network-scan.nessus", "web-app-tests.nessus"])
def test_policy_section_of_real_scan_exports(fixtures_dir, name):
    doc = read_policy_file(fixtures_dir / "results" / "nessus" / name)
    t = parse_document(doc)
    assert t.checks.safe_only and t.checks.enabled
    assert t.ports == PortSet.all()  # both ran with unscanned_closed "no"


@pytest.mark.fixtures
def test_a_scan_export_whose_port_scanner_items_name_no_family_still_counts_them(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "basic-network-scan.nessus").open("rb") as f:
        sel = read_selection(f, "basic-network-scan.nessus")
    assert {"11219", "14274", "10180"} <= sel.port_scanners()


@pytest.mark.fixtures
def test_security_center_export_with_nearly_every_family_off(fixtures_dir):
    doc = read_policy_file(fixtures_dir / "tenablesc" / "sc_policy_export.nessus")
    t = parse_document(doc)
    assert t.name == "Example-Policy" and t.performance.parallel_hosts == 30
    assert doc.all_check_families_off and not t.checks.enabled  # only Port scanners is not off
    with (fixtures_dir / "tenablesc" / "sc_policy_export.nessus").open("rb") as f:
        assert read_selection(f, "sc").port_scanners() == {"10180", "14272", "34220", "14274", "11219"}
    assert doc.settings["syn_scanner"] == "yes" and doc.settings["tcp_scanner"] == "no"


def test_every_example_template_tenable_takes_round_trips_as_document_and_as_file(example_workspace):
    plan = compile_plan(load_workspace(example_workspace))
    taken = 0
    for ct in plan.templates:
        try:
            doc = render_document(ct)
        except CannotEnforce:
            continue
        taken += 1
        assert violations(parse_document(doc), ct.constraints, vendor="nessus") == [], ct.name
        back = read_policy(io.BytesIO(render_policy_file(doc).encode()), ct.name)
        assert back.settings == doc.settings and back.all_check_families_off == doc.all_check_families_off
        assert violations(parse_document(back), ct.constraints, vendor="nessus") == [], ct.name
    assert taken >= len(plan.templates) // 4


def test_the_file_lists_the_recorded_families_and_the_port_scanners():
    text = render_policy_file(render_document(_ct(checks={"enabled": False})))
    for family in recorded_families():
        assert f"<FamilyName>{family.replace('&', '&amp;')}</FamilyName>" in text
    assert f"<FamilyName>{PORT_SCANNER_FAMILY}</FamilyName><Status>mixed</Status>" in text


def test_individually_excluded_plugins_get_no_file():
    with pytest.raises(PolicyFileUnavailable, match="12345"):
        render_policy_file(render_document(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:12345"]})))


def test_a_hostile_file_is_refused():
    from scanguard import UnsafeInput

    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><NessusClientData_v2>&a;</NessusClientData_v2>'
    with pytest.raises(UnsafeInput):
        read_policy(io.BytesIO(bomb), "bomb.nessus")
