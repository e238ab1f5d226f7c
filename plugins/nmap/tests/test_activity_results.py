"""nmap's saved activity log and its XML results, parsed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from scanguard import PortSet, UnsafeInput
from scanguard_nmap.activity import format_header, format_line, parse_activity
from scanguard_nmap.results import parse_results

START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def saved(*lines: str) -> io.StringIO:
    """A saved log whose lines all arrived one second after START."""
    head = format_header(START, ["nmap", "-n", "127.0.0.23"])
    return io.StringIO("\n".join([*head, *(format_line(START + timedelta(seconds=1), t) for t in lines)]) + "\n")


def test_each_phase_is_recognised():
    events = list(parse_activity(saved(
        "Initiating Ping Scan at 12:00",
        "SENT (0.0300s) ICMP [127.0.0.1 > 127.0.0.23 Echo request (type=8/code=0) id=1 seq=0] IP [ttl=64 id=1 iplen=28 ]",
        "SENT (0.0310s) TCP 127.0.0.1:40000 > 127.0.0.23:443 S ttl=50 id=2 iplen=44 seq=1 win=1024 <mss 1460>",
        "Initiating SYN Stealth Scan at 12:00",
        "SENT (0.0512s) TCP 127.0.0.1:54321 > 127.0.0.23:7100 S ttl=47 id=3 iplen=44 seq=2 win=1024 <mss 1460>",
        "Initiating Service scan at 12:00",
        "Service scan sending probe GetRequest to 127.0.0.23:443 (tcp)",
        "Initiating NSE at 12:00",
        "NSE: Starting http-title against 127.0.0.23:443.",
        "NSE: Finished http-title against 127.0.0.23:443.",
    )))

    assert [(e.phase, e.protocol, e.port, e.kind) for e in events] == [
        ("discovery", "icmp", None, "probe"), ("discovery", "tcp", 443, "probe"), ("portscan", "tcp", 7100, "probe"),
        ("service", "tcp", 443, "probe"), ("check", "tcp", 443, "start"), ("check", "tcp", 443, "finish"),
    ]
    assert events[-1].check_id == "http-title" and {e.vendor for e in events} == {"nmap"}


def test_a_version_probe_is_named_and_nmaps_abort_is_a_lost_signal_for_the_probe_in_flight():
    events = list(parse_activity(saved(
        "Initiating Service scan at 12:00",
        "Service scan sending probe NULL to 127.0.0.23:8081 (tcp)",
        "Service scan sending probe GetRequest to 127.0.0.23:8081 (tcp)",
        "Got nsock CONNECT response with status ERROR - aborting this service",
    )))

    assert [(e.kind, e.port, e.probe) for e in events] == [
        ("probe", 8081, "NULL"), ("probe", 8081, "GetRequest"), ("lost", 8081, "GetRequest")]
    assert events[-1].phase == "service" and events[-1].host == "127.0.0.23"


def test_an_abort_before_any_probe_names_nothing():
    assert list(parse_activity(saved("Got nsock CONNECT response with status ERROR - aborting this service"))) == []


def test_a_line_with_nmaps_relative_time_is_placed_at_start_plus_that_time():
    [event] = parse_activity(saved("CONN (0.0520s) TCP localhost > 127.0.0.23:7100 => Operation now in progress"))

    assert event.time == START + timedelta(seconds=0.052)


def test_a_connect_and_its_outcome_count_as_one_probe():
    events = list(parse_activity(saved(
        "Initiating Connect Scan at 12:00",
        "CONN (0.0520s) TCP localhost > 127.0.0.23:7100 => Operation now in progress",
        "CONN (0.0521s) TCP localhost > 127.0.0.23:7100 => Connected",
    )))

    assert [e.kind for e in events] == ["probe", "info"]


def test_unknown_lines_hex_dumps_and_report_lines_are_skipped():
    events = list(parse_activity(saved(
        "Starting Nmap 7.93 ( https://nmap.org ) at 2026-11-26 12:00 UTC",
        "00000010: 65 63 6b 31 37 39 35 36 39 37 35 33 33 20 48 54 eck1795697533 HT",
        "NSE: Starting runlevel 1 (of 3) scan.",
        "7100/tcp open  unknown",
        "not a timestamped line at all",
    )))

    assert events == []


@pytest.mark.fixtures
def test_the_real_nmap_exports_parse(fixtures_dir):
    hosts = []
    for path in sorted((fixtures_dir / "results" / "nmap").glob("*.xml")):
        with path.open("rb") as f:
            hosts += list(parse_results(f))

    by_addr = {h.address: h for h in hosts}
    assert set(by_addr) == {"198.38.82.159", "172.217.18.238", "54.239.28.85"}
    assert by_addr["198.38.82.159"].open_ports.contains(3306)
    assert by_addr["54.239.28.85"].open_ports == PortSet.parse("80/tcp, 443/tcp")
    assert by_addr["172.217.18.238"].hostname == "google.com"


def test_an_entity_declaration_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<nmaprun><host><address addr='&b;' addrtype='ipv4'/></host></nmaprun>")

    with pytest.raises(UnsafeInput):
        list(parse_results(io.BytesIO(bomb)))


def test_a_scan_stopped_early_yields_the_hosts_it_finished():
    cut = (b'<?xml version="1.0"?><nmaprun><host><status state="up" reason="user-set"/>'
           b'<address addr="127.0.0.23" addrtype="ipv4"/></host><host><address addr="127.0.0.24"')

    hosts = list(parse_results(io.BytesIO(cut), allow_truncated=True))

    assert [h.address for h in hosts] == ["127.0.0.23"]


@pytest.mark.fixtures
def test_probed_ports_are_the_scanned_ports_nmap_could_tell(fixtures_dir):
    with (fixtures_dir / "results" / "nmap" / "version-scan.xml").open("rb") as f:
        by_addr = {h.address: h for h in parse_results(f)}

    closed_behind = by_addr["54.239.28.85"]  # 995 closed, 135/139/445 filtered
    assert closed_behind.probed_ports.contains(7100) and not closed_behind.probed_ports.contains(445)
    assert by_addr["172.217.18.238"].probed_ports == PortSet.parse("80/tcp, 443/tcp")  # the rest filtered


@pytest.mark.fixtures
def test_an_old_nmap_that_groups_ports_without_naming_them_probes_only_the_listed_ones(fixtures_dir):
    with (fixtures_dir / "results" / "nmap" / "multiple-port.xml").open("rb") as f:
        (h,) = parse_results(f)

    assert h.probed_ports == h.open_ports


@pytest.mark.fixtures
def test_service_names_nmap_only_looked_up_in_its_port_table_are_no_evidence(fixtures_dir):
    with (fixtures_dir / "results" / "nmap" / "multiple-port.xml").open("rb") as f:
        (h,) = parse_results(f)

    assert h.open_ports.contains(443) and h.evidence == ()


def test_service_detection_os_detection_and_scripts_become_evidence():
    xml = b"""<?xml version="1.0"?><nmaprun><scaninfo type="syn" protocol="tcp" numservices="2" services="443,7100"/>
<host><status state="up"/><address addr="10.99.1.5" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="7100"><state state="open"/><service name="tms" product="Ingenico TMS" version="3.2"
 extrainfo="lane 7" devicetype="terminal" method="probed" conf="10"><cpe>cpe:/h:ingenico:lane_5000</cpe></service>
<script id="banner" output="Ingenico TMS ready"/></port>
<port protocol="tcp" portid="443"><state state="open"/><service name="https" tunnel="ssl" method="probed" conf="10"/>
<script id="http-title" output="Lane 7"><elem key="title">Lane 7</elem></script>
<script id="ssl-cert" output="Subject: commonName=lane7/organizationName=Ingenico&#xa;Not valid before: 2024"/></port>
</ports><os><osmatch name="Ingenico Telium OS" accuracy="90"><osclass type="specialized" vendor="Ingenico"
 osfamily="Telium"><cpe>cpe:/o:ingenico:telium</cpe></osclass></osmatch></os></host></nmaprun>"""

    (h,) = parse_results(io.BytesIO(xml))
    found = {(e.kind, e.value, e.port) for e in h.evidence}

    assert {("service", "tms", 7100), ("product", "Ingenico TMS", 7100), ("banner", "Ingenico TMS 3.2 (lane 7)", 7100),
            ("device_type", "terminal", 7100), ("cpe", "cpe:/h:ingenico:lane_5000", 7100),
            ("banner", "Ingenico TMS ready", 7100), ("service", "https/ssl", 443), ("http_title", "Lane 7", 443),
            ("tls_subject", "commonName=lane7/organizationName=Ingenico", 443), ("os", "Ingenico Telium OS", None),
            ("os", "Ingenico Telium", None), ("device_type", "specialized", None),
            ("cpe", "cpe:/o:ingenico:telium", None)} <= found


@pytest.mark.fixtures
def test_a_real_export_cut_anywhere_yields_the_hosts_it_completed(fixtures_dir):
    data = (fixtures_dir / "results" / "nmap" / "version-scan.xml").read_bytes()
    first = data.index(b"</host>") + len(b"</host>")
    second = data.index(b"</host>", first) + len(b"</host>")
    expected = {first - 40: [], first + 3: ["172.217.18.238"], first + 200: ["172.217.18.238"],
                len(data) - 30: ["172.217.18.238", "54.239.28.85"]}

    for cut, addresses in expected.items():
        hosts = list(parse_results(io.BytesIO(data[:cut]), allow_truncated=True))
        assert [h.address for h in hosts] == addresses, cut
    assert second < len(data) - 30


@pytest.mark.fixtures
def test_malformed_xml_before_the_cut_is_still_refused(fixtures_dir):
    data = (fixtures_dir / "results" / "nmap" / "version-scan.xml").read_bytes()
    broken = data.replace(b'<port protocol="tcp" portid="80">', b'<port protocol="tcp" portid="80"><<', 1)

    with pytest.raises(UnsafeInput, match="not well-formed"):
        list(parse_results(io.BytesIO(broken[: len(broken) - 30]), allow_truncated=True))


def test_a_cut_file_is_refused_unless_truncation_is_allowed():
    cut = b'<?xml version="1.0"?><nmaprun><host><address addr="127.0.0.23" addrtype="ipv4"/></host><host><addr'

    with pytest.raises(UnsafeInput):
        list(parse_results(io.BytesIO(cut)))
