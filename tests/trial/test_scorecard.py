"""The scorecard speaks to the device owner: plain reasons (the scanner's log lines kept apart),
each constraint with its value, one row per stage in the picture, and only the device's own
traffic drawn."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scanguard import ActivityEvent, Finding, HealthEvent, PortSet, ProfileChange, Suspect, load_workspace
from scanguard.scorecard import build_scorecard, device_activity, render_html, stage_lanes, timeline_png
from scanguard.trial import Coverage, ScanRecord, StageResult, TrialResult

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
HOST = "127.0.0.232"
RATE_20 = ("constraints:\n  rate:\n    packets_per_second: 20\n    reason: the cycle time stretches under load\n")
RAW = "checks 3105/tcp: 09:00:31.000 service probe: Service scan sending probe GetRequest to 127.0.0.232:3105 (tcp)"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def stage(name: str, status: str, start: float, end: float, ports: str, **kw) -> StageResult:
    run = ScanRecord(label=name, vendor="nmap", started=at(start), finished=at(end))
    return StageResult(name=name, title=name, status=status, runs=(run,), ports=PortSet.parse(ports), **kw)


def payload_trial() -> TrialResult:
    suspect = Suspect(host=HOST, port=3105, protocol="tcp", probe="GetRequest", confirmed=True, source="in-flight",
                      reason="in flight when the scanner lost the service")
    finding = Finding(title=f"Probe GetRequest on port 3105/tcp takes down {HOST}", host=HOST, confidence=0.9,
                      description="raw description", evidence=(RAW,), suspect=suspect,
                      proposal=ProfileChange(profile="lab-gateway", kind="excluded_port", ports=PortSet.parse("3105"),
                                             reason="Probe GetRequest on port 3105/tcp: took it down twice"))
    activity = (
        ActivityEvent(time=at(30), host=HOST, port=3105, protocol="tcp", probe="GetRequest", phase="service"),
        ActivityEvent(time=at(30.1), host=HOST, port=2024, protocol="tcp", phase="portscan"),  # a foreign listener
        ActivityEvent(time=at(30.2), host="127.0.0.1", port=53, protocol="udp", phase="check"),  # not the device
        ActivityEvent(time=at(30.3), host=HOST, port=3105, protocol="tcp", kind="lost", phase="service"),
    )
    health = (HealthEvent(time=at(0), host=HOST, state="up"), HealthEvent(time=at(31), host=HOST, state="down"),
              HealthEvent(time=at(32), host=HOST, state="up"))
    stages = (stage("discovery-syn", "passed", 0, 1, "3101,3105", coverage=Coverage(done=2, planned=2)),
              stage("service", "passed", 1.2, 2, "3101,3105", coverage=Coverage(done=2, planned=2)),
              stage("vulnerability", "failed", 2.1, 40, "3101,3105", findings=(finding,), confirmed=True))
    return TrialResult(profile="lab-gateway", target=HOST, vendor="nmap", started=at(0), finished=at(41),
                       outcome="failed", stages=stages, findings=(finding,), proposals=(finding.proposal,),
                       activity=activity, health=health)


def test_what_failed_is_said_in_plain_words_and_the_log_lines_are_kept_apart(lab):
    ws = load_workspace(lab("lab-gateway", HOST))
    card = build_scorecard(ws, payload_trial())

    assert card.reasons == ("The device stopped answering right after the scanner sent one of its "
                            "service-identification probes (“GetRequest”) to port 3105/tcp. Sent again on its own, "
                            "the same probe took the device down again, so it is the cause. Scans of this device "
                            "should leave 3105/tcp out.",)
    page = render_html(card, b"")
    plain, _, technical = page.partition("<details>")
    assert "service-identification probes (“GetRequest”)" in plain and "Service scan sending probe" not in plain
    assert "Service scan sending probe GetRequest" in technical


def test_each_constraint_in_force_shows_its_value(lab):
    ws = load_workspace(lab("lab-gateway", HOST, RATE_20))
    card = build_scorecard(ws, payload_trial())

    rate = next(e for e in card.exclusions if e.item == "packets_per_second")
    assert rate.value == "at most 20 packets per second"
    assert "at most 20 packets per second" in render_html(card, b"")


def test_only_traffic_to_the_devices_own_ports_is_drawn_as_its_activity():
    drawn, stray = device_activity(payload_trial())

    assert [(e.host, e.port) for e in drawn] == [(HOST, 3105)]
    assert stray == 2  # the foreign listener's port and the other host; the lost signal is no probe


def test_each_stage_gets_a_row_of_its_own_in_the_picture():
    trial = payload_trial()

    lanes = stage_lanes(trial)
    assert [label for label, *_ in lanes] == ["discovery-syn (passed)", "service (passed)", "vulnerability (failed)"]
    assert timeline_png(trial)[:8] == b"\x89PNG\r\n\x1a\n"
