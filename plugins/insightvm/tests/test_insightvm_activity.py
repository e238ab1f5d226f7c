"""InsightVM scan logs as activity events."""

import io
from datetime import datetime

from scanguard_insightvm.activity import parse_activity, parse_line

CHECK = "2024-03-05T02:14:10 [INFO] [Thread: VulnCheck-3] [Site: Payments] [10.1.2.3:443/TCP] " \
        "Starting vulnerability check http-iis-0001"


def test_a_check_line_becomes_a_check_start():
    e = parse_line(CHECK)
    assert (e.time, e.host, e.port, e.protocol) == (datetime(2024, 3, 5, 2, 14, 10), "10.1.2.3", 443, "tcp")
    assert (e.phase, e.kind, e.check_id, e.vendor) == ("check", "start", "http-iis-0001", "insightvm")


def test_a_port_line_is_port_scanning():
    e = parse_line("2024-03-05T02:14:09 [INFO] [Thread: TCP-2] [Site: P] [10.1.2.3:7100/TCP] TCP port open")
    assert (e.port, e.phase) == (7100, "portscan")


def test_udp_endpoints():
    e = parse_line("2024-03-05T02:14:09 [INFO] [Thread: U] [Site: P] [10.1.2.3:161/UDP] UDP port open")
    assert e.protocol == "udp"


def test_an_error_level_is_an_error():
    e = parse_line("2024-03-05T02:14:11 [ERROR] [Thread: V] [Site: P] [10.1.2.3:443/TCP] check ssl-rc4 stopped")
    assert e.kind == "error"


def test_a_host_without_a_port_is_discovery():
    e = parse_line("2024-03-05T02:14:08 [INFO] [Thread: D] [Site: P] [10.1.2.3] Host is alive (ICMP echo reply)")
    assert (e.host, e.port, e.phase, e.protocol) == ("10.1.2.3", None, "discovery", "icmp")


def test_scan_wide_lines_are_skipped():
    assert parse_line("2024-03-05T02:14:07 [INFO] [Thread: Scan-1] [Site: Payments] Scan started") is None


def test_unknown_lines_are_skipped_and_the_rest_is_read():
    log = "\n".join(["garbage", CHECK, "    at com.rapid7.Scanner.run(Scanner.java:42)", "", CHECK])
    assert len(list(parse_activity(io.StringIO(log)))) == 2


def test_milliseconds_and_zones_are_understood():
    e = parse_line("2024-03-05T02:14:10.250Z [INFO] [10.1.2.3:80/TCP] Service HTTP fingerprinted")
    assert e.time.microsecond == 250000 and e.time.utcoffset() is not None and e.phase == "service"


def test_parsing_is_lazy():
    def lines():
        yield CHECK
        raise AssertionError("read past the first event")

    assert next(parse_activity(lines())).check_id == "http-iis-0001"
