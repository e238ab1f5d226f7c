"""What an InsightVM XML export says about what a device is: OS, software and service
fingerprints, and service configuration values read by name."""

from __future__ import annotations

import io

import pytest

from scanguard_insightvm.results import parse_results


@pytest.mark.fixtures
def test_a_real_export_gives_os_device_class_services_and_their_products(fixtures_dir):
    with open(fixtures_dir / "results" / "nexpose" / "dns.xml", "rb") as f:
        (h,) = parse_results(f)
    found = {(e.kind, e.value, e.port, e.protocol) for e in h.evidence}

    assert {("os", "Linux Linux 2.6.32", None, None), ("device_type", "General", None, None),
            ("service", "DNS", 53, "udp"), ("product", "PowerDNS Recursor 4.3.5", 53, "tcp")} <= found
    assert h.probed_ports is None


def test_configuration_values_are_read_by_what_their_names_say():
    doc = b"""<NexposeReport version="2.0"><scans/><nodes><node address="10.99.1.5" status="alive">
<software><fingerprint vendor="Ingenico" product="Telium" version="3"/></software>
<endpoints><endpoint protocol="tcp" port="443" status="open"><services><service name="HTTPS"><configuration>
<config name="ssl.cert.subject.dn">CN=lane7, O=Ingenico</config><config name="http.banner">lighttpd</config>
<config name="http.title">Lane 7</config><config name="ssl.cert.key.alg.name">RSA</config>
</configuration></service></services></endpoint></endpoints></node></nodes><VulnerabilityDefinitions/></NexposeReport>"""

    (h,) = parse_results(io.BytesIO(doc))
    found = {(e.kind, e.value, e.port) for e in h.evidence}

    assert {("tls_subject", "CN=lane7, O=Ingenico", 443), ("banner", "lighttpd", 443), ("http_title", "Lane 7", 443),
            ("product", "Ingenico Telium 3", None)} <= found
    assert not any(e.value == "RSA" for e in h.evidence)
