"""InsightVM XML exports: the real fixtures parse, and hostile files are refused."""

import io

import pytest

from scanguard import PortSet, UnsafeInput
from scanguard_insightvm.results import parse_results

V1 = b"""<?xml version="1.0" encoding="UTF-8"?>
<NexposeReport version="1.0">
  <scans><scan id="3" name="pos" startTime="20240305T021400000" endTime="20240305T023000000" status="finished"/></scans>
  <nodes>
    <node address="10.1.2.3" status="alive" device-id="7" hardware-address="00-11-22-AA-BB-CC">
      <names><name>till-04</name></names>
      <fingerprints><os certainty="0.80" vendor="Verifone" product="VX OS" version="4"/></fingerprints>
      <endpoints>
        <endpoint protocol="tcp" port="7100" status="open">
          <services><service name="HTTP"><tests>
            <test id="http-weak-auth" status="vulnerable-version" scan-id="3"><Paragraph>weak</Paragraph></test>
            <test id="http-other" status="not-vulnerable" scan-id="3"/>
          </tests></service></services>
        </endpoint>
      </endpoints>
    </node>
  </nodes>
  <VulnerabilityDefinitions>
    <vulnerability id="http-weak-auth" title="Weak HTTP authentication" severity="4"/>
  </VulnerabilityDefinitions>
</NexposeReport>
"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE NexposeReport [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<NexposeReport version="2.0"><nodes><node address="&lol3;"/></nodes></NexposeReport>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE NexposeReport [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<NexposeReport version="2.0"><nodes><node address="10.0.0.1">
<names><name>&xxe;</name></names></node></nodes></NexposeReport>
"""


def _named(data: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


@pytest.mark.fixtures
def test_the_dns_export_parses(fixtures_dir):
    with open(fixtures_dir / "results" / "nexpose" / "dns.xml", "rb") as f:
        hosts = list(parse_results(f))
    assert [h.address for h in hosts] == ["192.168.1.1"]
    assert hosts[0].open_ports == PortSet.parse("53/tcp, 53/udp") and hosts[0].mac == "00:11:22:33:44:55"


@pytest.mark.fixtures
def test_the_dns_export_findings_carry_titles_and_severities(fixtures_dir):
    with open(fixtures_dir / "results" / "nexpose" / "dns.xml", "rb") as f:
        items = [i for i in next(parse_results(f)).items if i.check_id == "dns-allows-cache-snooping"]
    assert items[0].check_name == "DNS server allows cache snooping" and items[0].severity == 5
    assert items[0].port == 53 and items[0].service == "DNS"


@pytest.mark.fixtures
def test_the_authenticated_export_parses(fixtures_dir):
    with open(fixtures_dir / "results" / "nexpose" / "report-auth.xml", "rb") as f:
        hosts = list(parse_results(f))
    assert [h.hostname for h in hosts] == ["host0", "host1", "host3", "host4"]
    assert all(h.os == "Ubuntu Linux 20.04" for h in hosts)
    assert any(i.check_id == "linux-grub-missing-passwd" for i in hosts[0].items)


def test_a_version_1_export_parses():
    host = next(parse_results(io.BytesIO(V1)))
    assert host.address == "10.1.2.3" and host.hostname == "till-04" and host.mac == "00:11:22:aa:bb:cc"
    assert host.open_ports == PortSet.parse("7100")
    assert host.start is not None and host.start.hour == 2


def test_only_findings_are_reported_as_checks():
    host = next(parse_results(io.BytesIO(V1)))
    assert [i.check_id for i in host.items if i.check_id] == ["http-weak-auth"]


def test_an_unseekable_stream_parses_without_titles():
    class OneWay(io.RawIOBase):
        def __init__(self, data):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self._inner.read(len(b))
            b[:len(chunk)] = chunk
            return len(chunk)

    host = next(parse_results(OneWay(V1)))
    finding = [i for i in host.items if i.check_id][0]
    assert finding.check_id == "http-weak-auth" and finding.check_name is None


def test_billion_laughs_is_refused_naming_the_file():
    with pytest.raises(UnsafeInput, match="laughs.xml.*entities"):
        list(parse_results(_named(LAUGHS, "laughs.xml")))


def test_external_entities_are_refused_naming_the_file():
    with pytest.raises(UnsafeInput, match="xxe.xml"):
        list(parse_results(_named(XXE, "xxe.xml")))


def test_another_document_is_refused():
    with pytest.raises(UnsafeInput, match="NexposeReport"):
        list(parse_results(io.BytesIO(b"<NessusClientData_v2/>")))


def test_malformed_xml_is_refused():
    with pytest.raises(UnsafeInput, match="well-formed"):
        list(parse_results(io.BytesIO(b'<NexposeReport version="2.0"><nodes>')))


def test_an_unknown_version_is_refused():
    with pytest.raises(UnsafeInput, match="version"):
        list(parse_results(io.BytesIO(b'<NexposeReport version="9.0"/>')))
