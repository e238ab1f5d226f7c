"""What a GVM report says about what a device is: host details, product detections, the port
summary and TLS certificates, in the shapes gvmd prints them, and the real exports."""

from __future__ import annotations

import io

import pytest

from scanguard_gvm.evidence import certificate_subject
from scanguard_gvm.results import parse_results

REPORT = b"""<report id="r"><report id="r">
<ports max="-1" start="1"><port>443/tcp<host>10.99.1.5</host><severity>0.0</severity></port></ports>
<results start="1" max="-1">
<result id="a"><host>10.99.1.5<asset asset_id=""/></host><port>7100/tcp</port>
<nvt oid="1.3.6.1.4.1.25623.1.0.999"><name>Product detection result</name><family>Product detection</family></nvt>
<severity>0.0</severity><description>Product detection result</description>
<detection><result id="d"><details><detail><name>product</name><value>cpe:/a:ingenico:tms:3.2</value></detail>
<detail><name>location</name><value>7100/tcp</value></detail><detail><name>source_oid</name><value>1.3.6.1.4.1.25623.1.0.998</value></detail>
<detail><name>source_name</name><value>Ingenico TMS Detection</value></detail></details></result></detection></result>
<result id="b"><host>10.99.1.5</host><port>22/tcp</port>
<nvt oid="1.3.6.1.4.1.25623.1.0.100259"><name>SSH Server type and version</name><family>Product detection</family></nvt>
<severity>0.0</severity><description>Detected OpenSSH
Version: 8.9p1
Location: 22/tcp
CPE: cpe:/a:openbsd:openssh:8.9p1

Concluded from version/product identification result:
SSH-2.0-OpenSSH_8.9p1

</description></result>
</results>
<host><ip>10.99.1.5</ip><start>2024-05-06T10:00:00Z</start>
<detail><name>best_os_txt</name><value>Ingenico Telium</value><source><type>nvt</type><name>1.3.6.1.4.1.25623.1.0.105937</name></source></detail>
<detail><name>App</name><value>cpe:/a:ingenico:tms:3.2</value><source><type>nvt</type><name>1.3.6.1.4.1.25623.1.0.998</name></source></detail>
<detail><name>MAC</name><value>00:03:81:4A:10:01</value><source><type>nvt</type><name>x</name></source></detail>
</host>
<tls_certificates><tls_certificate><name>F</name><subject_dn>CN=lane7,O=Ingenico</subject_dn>
<host><ip>10.99.1.5</ip><hostname/></host><ports><port>443</port></ports></tls_certificate></tls_certificates>
</report></report>"""


def test_details_detections_ports_and_certificates_become_evidence():
    (h,) = parse_results(io.BytesIO(REPORT))
    found = {(e.kind, e.value, e.port) for e in h.evidence}

    assert {("cpe", "cpe:/a:ingenico:tms:3.2", 7100), ("product", "Ingenico TMS Detection", 7100),
            ("product", "OpenSSH 8.9p1", 22), ("cpe", "cpe:/a:openbsd:openssh:8.9p1", 22),
            ("banner", "SSH-2.0-OpenSSH_8.9p1", 22), ("os", "Ingenico Telium", None),
            ("cpe", "cpe:/a:ingenico:tms:3.2", None), ("tls_subject", "CN=lane7,O=Ingenico", 443)} <= found
    assert h.open_ports.contains(443) and h.open_ports.contains(7100)  # 443 only from the port summary
    assert (h.os, h.mac, h.probed_ports) == ("Ingenico Telium", "00:03:81:4A:10:01", None)


@pytest.mark.fixtures
def test_a_real_certificate_table_gives_its_wrapped_subject(fixtures_dir):
    with open(fixtures_dir / "results" / "gvm" / "metasploitable2-report.xml", "rb") as f:
        (h,) = parse_results(f)

    (subject,) = [e for e in h.evidence if e.kind == "tls_subject"]
    assert subject.port == 5432 and "CN=ubuntu804-base.localdomain" in subject.value
    assert subject.value.endswith("ST=There is no such thing outside US,C=XX")


def test_a_certificate_table_without_a_subject_row_gives_none():
    assert certificate_subject("fingerprint (SHA-1) | AB\nserial | 01\n") == ""
