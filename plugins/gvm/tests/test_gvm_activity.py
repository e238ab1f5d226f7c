"""openvas.log lines become a timeline of NVT launches and finishes."""

import io
from datetime import datetime, timezone

from scanguard_gvm.activity import parse_activity

LOG = """\
libgvm misc:MESSAGE:2024-05-06 10:11:12.123 UTC: Launching Ping Host (1.3.6.1.4.1.25623.1.0.100315) against 10.0.0.5 [4242]
libgvm misc:MESSAGE:2024-05-06 10:11:14.001 UTC: Ping Host (1.3.6.1.4.1.25623.1.0.100315) [4242] finished its job in 1.877 seconds
libgvm misc:MESSAGE:2024-05-06 10:11:15.000 UTC: Launching Slowloris DoS (1.3.6.1.4.1.25623.1.0.900001) against 10.0.0.5 [4243]
"""


def events(text):
    return list(parse_activity(io.StringIO(text)))


def test_a_launch_line_is_a_start_event_on_the_host():
    e = events(LOG)[0]
    assert (e.kind, e.host, e.check_id, e.check_name, e.phase) == (
        "start", "10.0.0.5", "1.3.6.1.4.1.25623.1.0.100315", "Ping Host", "discovery")
    assert e.time == datetime(2024, 5, 6, 10, 11, 12, 123000, tzinfo=timezone.utc)


def test_a_finish_line_takes_its_host_from_the_launch_and_carries_the_duration():
    e = events(LOG)[1]
    assert (e.kind, e.host, e.duration_s) == ("finish", "10.0.0.5", 1.877)


def test_vulnerability_tests_are_in_the_check_phase():
    assert events(LOG)[2].phase == "check"


def test_unknown_lines_are_skipped():
    assert len(events("openvas starting\n" + LOG + "libgvm misc:MESSAGE:2024-05-06 10:12:00 UTC: Vts loaded\n")) == 3


def test_the_older_time_format_is_read():
    line = "sd   main:MESSAGE:2021-05-06 10h11.12 utc:12345: Launching Services (1.3.6.1.4.1.25623.1.0.10330) against 10.1.1.1 [77]\n"
    (e,) = events(line)
    assert (e.time, e.host) == (datetime(2021, 5, 6, 10, 11, 12, tzinfo=timezone.utc), "10.1.1.1")


def test_parsing_streams_line_by_line():
    def lines():
        yield LOG.splitlines(keepends=True)[0]
        raise AssertionError("read past the first event")

    assert next(parse_activity(lines())).kind == "start"
