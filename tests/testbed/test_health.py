"""The health monitor watches a device go down and come back; timelines become outages and CSV."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from scanguard.health import HealthFileError, HealthMonitor, iter_csv, outages, probe_tcp, read_csv, write_csv
from scanguard.model import HealthEvent, Outage
from scanguard.plugin.manager import load_plugins
from scanguard.testbed import run_device

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def ev(seconds: float, state: str, host: str = "10.0.0.5") -> HealthEvent:
    return HealthEvent(time=T0 + timedelta(seconds=seconds), host=host, state=state, source="test")


def test_a_probe_of_a_live_port_is_up_and_of_a_dead_one_down(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        assert probe_tcp(dev.address, dev.heartbeat_port).state == "up"
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        down = probe_tcp(dev.address, dev.heartbeat_port)
        assert (down.state, down.host) == ("down", dev.address)
        assert "refused" in down.detail.lower()


def test_the_monitor_sees_up_then_down_then_up(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.3)) as dev:
        with HealthMonitor(dev.address, dev.heartbeat_port, interval_s=0.02) as mon:
            assert mon.wait_for("up")
            net.connect(dev.address, 7100)
            assert mon.wait_for("down")
            assert mon.wait_for("up")
        states = [e.state for e in mon.timeline()]
        changes = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        assert changes == ["up", "down", "up"]


def test_outages_derived_from_a_monitored_death_match_the_ground_truth(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.3)) as dev:
        with HealthMonitor(dev.address, dev.heartbeat_port, interval_s=0.02) as mon:
            assert mon.wait_for("up")
            net.connect(dev.address, 7100)
            assert mon.wait_for("down") and mon.wait_for("up")
        found = outages(mon.timeline())
        # the heartbeat answers as soon as the ports reopen, a moment before the device records its
        # recovery: read the ground truth once the device itself says it is up
        assert dev.wait_for("up")
        truth = dev.truth()
    death = next(e for e in truth if e.kind == "death")
    recovery = next(e for e in truth if e.kind == "recovery")
    assert len(found) == 1
    o = found[0]
    assert o.host == dev.address and o.end is not None and o.last_up is not None
    assert o.last_up <= death.time <= o.start  # observations are stamped when the answer came
    assert recovery.time <= o.end


def test_changes_only_keeps_one_event_per_state_change(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.2)) as dev:
        with HealthMonitor(dev.address, dev.heartbeat_port, interval_s=0.02, changes_only=True) as mon:
            assert mon.wait_for("up")
            net.connect(dev.address, 7100)
            assert mon.wait_for("down") and mon.wait_for("up")
        assert [e.state for e in mon.timeline()] == ["up", "down", "up"]


def test_outages_span_from_first_down_to_next_up():
    timeline = [ev(0, "up"), ev(1, "up"), ev(2, "down"), ev(3, "down"), ev(4, "up")]
    assert outages(timeline) == [Outage(host="10.0.0.5", start=T0 + timedelta(seconds=2),
                                        end=T0 + timedelta(seconds=4), last_up=T0 + timedelta(seconds=1))]


def test_an_outage_not_seen_back_is_open():
    [o] = outages([ev(0, "up"), ev(5, "down")])
    assert o.end is None and o.last_up == T0


def test_outages_are_per_host_and_ignore_input_order():
    timeline = [ev(4, "up", "a"), ev(1, "down", "b"), ev(2, "down", "a"), ev(0, "up", "a"), ev(3, "up", "b")]
    assert [(o.host, o.start, o.end) for o in outages(timeline)] == [
        ("b", T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)),
        ("a", T0 + timedelta(seconds=2), T0 + timedelta(seconds=4)),
    ]


def test_degraded_is_not_an_outage():
    assert outages([ev(0, "up"), ev(1, "degraded"), ev(2, "up")]) == []


def test_a_timeline_survives_a_csv_round_trip(tmp_path):
    timeline = [ev(0, "up"), ev(1.5, "down"), ev(3, "degraded", "10.0.0.6")]
    timeline.append(HealthEvent(time=datetime(2026, 3, 1, 3, 0, 2, tzinfo=timezone(timedelta(hours=1))),
                                host="10.0.0.5", state="up", source="ping", detail='rtt, "12 ms"'))
    path = tmp_path / "health.csv"
    write_csv(timeline, path)
    assert read_csv(path) == timeline


def test_the_csv_has_the_documented_header_and_iso_times_with_zone(tmp_path):
    path = tmp_path / "health.csv"
    write_csv([ev(0, "up")], path)
    assert path.read_text().splitlines() == ["time,host,state,source,detail", "2026-03-01T02:00:00+00:00,10.0.0.5,up,test,"]


def test_a_bad_state_in_the_csv_names_the_file_and_line(tmp_path):
    path = tmp_path / "health.csv"
    path.write_text("time,host,state,source,detail\n"
                    "2026-03-01T02:00:00Z,10.0.0.5,up,mon,\n"
                    "2026-03-01T02:00:01Z,10.0.0.5,sideways,mon,\n")
    with pytest.raises(HealthFileError, match=rf"^{path}:3: state: .*'sideways'"):
        read_csv(path)


def test_a_time_without_a_zone_in_the_csv_names_the_line():
    text = "time,host,state\n2026-03-01T02:00:00Z,h,up\n\n2026-03-01T02:00:01,h,down\n"
    with pytest.raises(HealthFileError, match=r"^health.csv:4: time .* has no time zone"):
        list(iter_csv(io.StringIO(text), "health.csv"))


def test_an_unknown_csv_column_is_an_error_on_line_1():
    with pytest.raises(HealthFileError, match=r"^h.csv:1: unknown column\(s\) \['colour'\]"):
        list(iter_csv(io.StringIO("time,host,state,colour\n"), "h.csv"))


def test_a_row_with_too_few_values_names_its_line():
    with pytest.raises(HealthFileError, match=r"^h.csv:2: 2 values, expected 3"):
        list(iter_csv(io.StringIO("time,host,state\n2026-03-01T02:00:00Z,h\n"), "h.csv"))


def test_csv_and_tcp_health_sources_are_registered_as_a_builtin_plugin(tmp_path, personality):
    sources = load_plugins(entry_points=False).health_sources()
    assert {"csv", "tcp"} <= set(sources)
    path = tmp_path / "h.csv"
    write_csv([ev(0, "up")], path)
    assert list(sources["csv"].read(str(path))) == [ev(0, "up")]
    with run_device(personality("plc")) as dev:
        got = list(sources["tcp"].read(f"{dev.address}:{dev.heartbeat_port}?count=2&interval=0.01"))
    assert [(e.host, e.state) for e in got] == [(dev.address, "up")] * 2
