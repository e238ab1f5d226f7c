"""What a .nessus export says about what a device is: evidence for fingerprints, from the plugin
outputs and host tags of real exports and of the plugin outputs' real layouts."""

from __future__ import annotations

import io

import pytest

from scanguard_tenable_policy.evidence import evidence_of
from scanguard_tenable_policy.results import parse_nessus


def found(host) -> set[tuple]:
    return {(e.kind, e.value, e.port) for e in host.evidence}


@pytest.mark.fixtures
def test_a_real_export_gives_os_device_type_title_web_server_and_cpes(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "basic-network-scan.nessus").open("rb") as f:
        (h,) = parse_nessus(f)

    assert {("os", "Linux Kernel 2.6", None), ("device_type", "general-purpose", None),
            ("http_title", "Home of Acunetix Art", 80), ("product", "nginx/1.19.0", 80), ("banner", "nginx/1.19.0", 80),
            ("service", "www", 80), ("cpe", "cpe:/a:nginx:nginx:1.19.0", None)} <= found(h)


@pytest.mark.fixtures
def test_a_guessed_service_name_is_no_evidence(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "web-app-tests.nessus").open("rb") as f:
        (h,) = parse_nessus(f)

    assert not any(v.endswith("?") for k, v, _ in found(h) if k == "service")  # svc_name="https?"
    assert ("device_type", "firewall", None) in found(h)


@pytest.mark.fixtures
def test_the_policys_port_range_is_what_a_port_scanned_host_was_probed_on(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "basic-network-scan.nessus").open("rb") as f:
        (h,) = parse_nessus(f)

    # port_range "default": Nessus's own list, which holds 443 and 7100, not 40000
    assert h.probed_ports.contains(443) and h.probed_ports.contains(7100) and not h.probed_ports.contains(40000)


def test_a_host_no_port_scanner_reported_on_has_no_probed_ports():
    doc = (b'<NessusClientData_v2><Policy><Preferences><ServerPreferences><preference><name>port_range</name>'
           b'<value>1-65535</value></preference></ServerPreferences></Preferences></Policy><Report name="r">'
           b'<ReportHost name="10.0.0.1"><HostProperties/><ReportItem port="0" svc_name="general" protocol="tcp" '
           b'severity="0" pluginID="19506" pluginName="Nessus Scan Information" pluginFamily="Settings">'
           b"<plugin_output>x</plugin_output></ReportItem></ReportHost></Report></NessusClientData_v2>")

    (h,) = parse_nessus(io.BytesIO(doc))

    assert h.probed_ports is None


def test_an_unknown_services_banner_is_read_from_the_hex_dumps_text_column():
    output = ("If you know what this service is and think the banner could be used to\nidentify it, please send a "
              "description of the service along with the\nfollowing output to svc-signatures@nessus.org :\n\n"
              "  Port   : 7100\n  Type   : spontaneous\n  Banner : \n"
              "0x00:  49 6E 67 65 6E 69 63 6F 20 54 4D 53 20 72 65 61    Ingenico TMS rea\n"
              "0x10:  64 79 0D 0A                                        dy..\n")

    (ev,) = evidence_of("11154", "Unknown Service Detection: Banner Retrieval", "Service detection", output, 7100, "tcp")

    assert (ev["kind"], ev["value"], ev["port"]) == ("banner", "Ingenico TMS ready..", 7100)


def test_a_certificates_subject_name_block_is_its_subject():
    output = ("\nSubject Name: \n\nCommon Name: lane07.pos.example\nOrganization: Ingenico\nCountry: FR\n\n"
              "Issuer Name: \n\nCommon Name: Lane CA\n\nSerial Number: 01 \n")

    (ev,) = evidence_of("10863", "SSL Certificate Information", "General", output, 443, "tcp")

    assert ev["value"] == "Common Name: lane07.pos.example, Organization: Ingenico, Country: FR"


def test_an_output_that_does_not_read_as_expected_yields_nothing():
    assert evidence_of("10863", "SSL Certificate Information", "General", "garbled", 443, "tcp") == []
    assert evidence_of("54615", "Device Type", "General", "nothing here", None, "tcp") == []
