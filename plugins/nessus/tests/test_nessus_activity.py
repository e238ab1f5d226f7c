"""nessusd.messages with log_whole_attack into the activity timeline."""

import io
from datetime import datetime, timezone

from scanguard_nessus.activity import parse_messages
from scanguard_nessus.plugin import NESSUS

LOG = """\
[Wed Jun 14 10:11:59 2023][1201.1][Nessus is starting up]
[Wed Jun 14 10:12:01 2023][1234.5][user=admin][name=Weekly][target=10.20.50.7][plugin=ping_host.nasl][plugin_id=10180] : Launching
[Wed Jun 14 10:12:02 2023][1234.5][user=admin][name=Weekly][target=10.20.50.7][plugin=ping_host.nasl][plugin_id=10180] : Finished (took 0.87 seconds)
not a log line at all
[Wed Jun 14 10:12:03 2023][1234.6][user=admin][name=Weekly][target=10.20.50.7][plugin=nessus_syn_scanner.nbin][plugin_id=11219] : Launching
[Wed Jun 14 10:12:40 2023][1234.9][user=admin][name=Weekly][target=10.20.50.7][plugin=dos_tcp_flood.nasl][plugin_id=99999][port=7100] : Launching
[Wed Jun 14 10:12:41 2023][1234.9][target=10.20.50.7][plugin_id=99999] : something we do not know
[2023-06-14 10:13:02][1234.6][plugin_id=11219][plugin=nessus_syn_scanner.nbin][target=10.20.50.7] : Finished in 512 ms
"""


def test_launching_and_finished_lines_become_events():
    events = list(NESSUS.parse_activity(io.StringIO(LOG)))
    assert [(e.kind, e.check_id) for e in events] == [
        ("start", "10180"), ("finish", "10180"), ("start", "11219"), ("start", "99999"), ("finish", "11219"),
    ]
    first = events[0]
    assert first.time == datetime(2023, 6, 14, 10, 12, 1) and first.host == "10.20.50.7"
    assert first.check_name == "ping_host.nasl" and first.vendor == "nessus"


def test_durations_and_phases():
    events = list(parse_messages(io.StringIO(LOG)))
    assert events[1].duration_s == 0.87 and events[4].duration_s == 0.512
    assert [e.phase for e in events] == ["discovery", "discovery", "portscan", "check", "portscan"]


def test_port_when_logged():
    events = list(parse_messages(io.StringIO(LOG)))
    assert events[3].port == 7100 and events[3].protocol == "tcp"


def test_time_zone_can_be_attached():
    events = list(parse_messages(io.StringIO(LOG), tz=timezone.utc))
    assert events[0].time.tzinfo is timezone.utc


def test_streams_lazily():
    lines = iter(LOG.splitlines(keepends=True))
    gen = parse_messages(lines)
    assert next(gen).check_id == "10180"
