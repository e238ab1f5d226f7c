"""GVM report XML becomes HostResults, safely and as a stream."""

import io

import pytest
from scanguard import UnsafeInput
from scanguard_gvm.results import parse_results

ERRORS_REPORT = b"""<report id="r"><report id="r"><results start="1" max="-1">
<result id="a"><host>10.0.0.7<asset asset_id="x"/><hostname>pump</hostname></host><port>443/tcp</port>
<nvt oid="1.3.6.1.4.1.25623.1.0.900041"><name>Apache banner</name><family>Web Servers</family></nvt>
<severity>5.0</severity><description>banner</description></result></results>
<host><ip>10.0.0.7</ip><start>2024-05-06T10:00:00Z</start><end>2024-05-06T10:30:00Z</end></host>
<errors><count>1</count><error><host>10.0.0.7<asset asset_id="x"/></host><port>general/tcp</port>
<description>NVT timed out after 320 seconds.</description><nvt oid="1.3.6.1.4.1.25623.1.0.900001"><name>Slowloris</name></nvt>
</error></errors></report></report>"""


def parse(data: bytes, name: str = "report.xml"):
    stream = io.BytesIO(data)
    stream.name = name
    return list(parse_results(stream))


@pytest.mark.fixtures
def test_the_metasploitable_export_parses(fixtures_dir):
    with open(fixtures_dir / "results" / "gvm" / "metasploitable2-report.xml", "rb") as f:
        (host,) = parse_results(f)
    assert (host.address, host.hostname, len(host.items)) == ("192.168.1.1001", "b6b9f466d63", 44)
    assert host.open_ports.contains(1524) and host.start is not None


@pytest.mark.fixtures
def test_the_v2_detail_export_parses(fixtures_dir):
    with open(fixtures_dir / "results" / "gvm" / "report-detail-v2.xml", "rb") as f:
        (host,) = parse_results(f)
    item = host.items[0]
    assert (host.address, item.port, item.check_id, item.family, item.severity) == (
        "10.99.99.99", 42, "1.3.6.1.4.1.25623.1.0.836484", "Windows : Microsoft Bulletins", 4)


def test_nvts_that_timed_out_are_host_errors():
    (host,) = parse(ERRORS_REPORT)
    assert host.errors == ("1.3.6.1.4.1.25623.1.0.900001",)


def test_host_times_come_from_the_host_details():
    (host,) = parse(ERRORS_REPORT)
    assert (host.end - host.start).total_seconds() == 1800


def test_billion_laughs_is_refused_naming_the_file():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><report>&c;</report>')
    with pytest.raises(UnsafeInput, match="laughs.xml.*declares entities"):
        parse(bomb, "laughs.xml")


def test_external_entities_are_refused():
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><report>&x;</report>'
    with pytest.raises(UnsafeInput, match="declares entities"):
        parse(xxe)


def test_malformed_xml_is_refused_naming_the_file():
    with pytest.raises(UnsafeInput, match="cut.xml.*not well-formed"):
        parse(ERRORS_REPORT[:200], "cut.xml")


def test_many_results_are_summarised_with_descriptions_cut():
    body = b"".join(b'<result id="%d"><host>10.0.0.%d</host><port>80/tcp</port><nvt oid="1.2"/>'
                    b"<description>%s</description></result>" % (i, i % 3, b"x" * 2000) for i in range(300))
    hosts = parse(b'<report><report><results>' + body + b"</results></report></report>")
    assert sum(len(h.items) for h in hosts) == 300 and all(len(i.detail) <= 500 for h in hosts for i in h.items)
