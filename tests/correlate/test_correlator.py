"""The correlator on recorded timelines of every vendor's log format."""

from __future__ import annotations

import io

import pytest

from scanguard import PortSet, ScanRun, Suspect, hookimpl
from scanguard.correlate import correlate
from scanguard.plugin.manager import load_plugins
from scanguard_nmap.activity import parse_activity as nmap_activity

from .timelines import (
    HOST, dies_at, gvm_events, gvm_finish, gvm_launch, health, insightvm_events, insightvm_line, nessus_events,
    nessus_line, nmap_connects, nmap_log, nmap_version_scan,
)


def nmap_run(lines, dead_at: float, label: str = "") -> ScanRun:
    return ScanRun(label=label, activity=tuple(nmap_activity(io.StringIO(nmap_log(lines)))),
                   health=dies_at(dead_at))


def slow_scan_dying_on(killer: int, before: list[int]) -> list:
    """A slow connect scan (one port every 0.2 s) that reaches `killer` last."""
    return nmap_connects([*before, killer], start_s=1.0, step_s=0.2)


@pytest.fixture
def plugins():
    return load_plugins(entry_points=False)


def test_single_port_killer_in_an_nmap_log_is_the_proposed_exclusion(plugins):
    run = nmap_run(slow_scan_dying_on(7100, [7001, 7050, 7080, 7099]), dead_at=3.0)

    report = correlate([run], plugins=plugins)

    finding = report.findings[0]
    assert finding.proposal is not None and finding.proposal.kind == "excluded_port"
    assert finding.proposal.ports == PortSet.parse("7100/tcp")
    assert report.observations[0].top().port == 7100
    assert any("127.0.0.23:7100" in e for e in finding.evidence)


def test_suspect_last_before_the_failure_in_two_runs_is_confirmed(plugins):
    runs = [nmap_run(slow_scan_dying_on(7100, [7001, 7002]), 3.0, "first"),
            nmap_run(slow_scan_dying_on(7100, [7150, 7003, 7004]), 3.0, "rerun")]

    report = correlate(runs, plugins=plugins)

    finding = report.findings[0]
    assert finding.proposal.ports == PortSet.parse("7100/tcp")
    assert finding.severity == "high" and finding.confidence >= 0.75
    assert "confirmed in 2 of 2 runs" in finding.description


def test_runs_that_disagree_confirm_nothing(plugins):
    runs = [nmap_run(slow_scan_dying_on(7100, [7001]), 3.0), nmap_run(slow_scan_dying_on(7001, [7100]), 3.0)]

    report = correlate(runs, plugins=plugins)

    assert report.findings
    assert all(f.severity != "high" and f.confidence < 0.5 for f in report.findings)


def test_burst_with_no_single_suspect_proposes_a_rate_limit(plugins):
    # 40 ports in 0.2 s, then down; a rerun dies at a different port: rate, not a port
    runs = [nmap_run(nmap_connects(range(7000, 7040), start_s=1.0, step_s=0.005), 1.5),
            nmap_run(nmap_connects(range(7100, 7040, -1), start_s=1.0, step_s=0.005), 1.5)]

    report = correlate(runs, plugins=plugins)

    rate = [f for f in report.findings if f.proposal and f.proposal.kind == "rate"]
    assert len(rate) == 1
    # never seen up during the burst: an eighth of the 40 probes seen within one second
    assert rate[0].proposal.packets_per_second == 5
    assert not [f for f in report.findings if f.proposal and f.proposal.kind == "excluded_port"]


def test_rate_limit_is_half_the_rate_the_device_was_seen_surviving(plugins):
    # 40 ports in 0.2 s; the device still answered at 1.1 s (after 21 probes), then went down
    alive_then_down = health([(0, "up"), (1, "up"), (1.1, "up"), (1.5, "down"), (2.5, "down")])
    runs = [ScanRun(activity=tuple(nmap_activity(io.StringIO(nmap_log(
                nmap_connects(range(7000, 7040), start_s=1.0, step_s=0.005))))), health=alive_then_down),
            ScanRun(activity=tuple(nmap_activity(io.StringIO(nmap_log(
                nmap_connects(range(7100, 7040, -1), start_s=1.0, step_s=0.005))))), health=alive_then_down)]

    report = correlate(runs, plugins=plugins)

    (rate,) = [f for f in report.findings if f.proposal and f.proposal.kind == "rate"]
    assert rate.proposal.packets_per_second == 10  # half of the 21 probes/s it survived, never the 40/s peak


def test_raising_correlator_is_skipped_while_the_others_count(plugins):
    class Broken:
        @hookimpl
        def scanguard_correlate(self, outage, activity, health):
            raise RuntimeError("correlator bug")

    class Extra:
        @hookimpl
        def scanguard_correlate(self, outage, activity, health):
            return [Suspect(host=outage.host, port=9999, protocol="tcp", score=5.0, reason="vendor advisory",
                            source="extra")]

    plugins.register(Broken(), "broken")
    plugins.register(Extra(), "extra")
    run = nmap_run(slow_scan_dying_on(7100, [7001]), 3.0)

    report = correlate([run], plugins=plugins)

    suspects = report.observations[0].suspects
    assert suspects[0].port == 9999 and suspects[0].source == "extra"
    assert any(s.port == 7100 and s.source == "core" for s in suspects)


def test_activity_on_other_hosts_is_never_suspect(plugins):
    lines = [*slow_scan_dying_on(7100, [7001]), *nmap_connects([8080], start_s=2.9, step_s=0.1, host="127.0.0.99")]
    report = correlate([nmap_run(lines, 3.0)], plugins=plugins)

    assert all(s.host == HOST for s in report.observations[0].suspects)
    assert report.observations[0].top().port == 7100


def test_nessus_plugin_launched_last_becomes_an_excluded_plugin(plugins):
    text = "\n".join([
        nessus_line(1, "ssh_detect.nasl", 10267, "Launching"), nessus_line(2, "ssh_detect.nasl", 10267, "Finished"),
        nessus_line(2, "ingenico_tms_overflow.nasl", 99001, "Launching"),
    ])
    run = ScanRun(activity=tuple(nessus_events(text)), health=dies_at(4))

    report = correlate([run], plugins=plugins, check_kinds={"nessus": "plugin"})

    change = report.findings[0].proposal
    assert change.kind == "excluded_check"
    assert change.check.text() == "nessus:plugin:99001"


def test_gvm_nvt_running_when_the_device_died_is_the_suspect(plugins):
    oid_ok, oid_bad = "1.3.6.1.4.1.25623.1.0.10267", "1.3.6.1.4.1.25623.1.0.900001"
    text = "\n".join([gvm_launch(1, "ssh_detect.nasl", oid_ok), gvm_launch(2, "tms_crash.nasl", oid_bad),
                      gvm_finish(3, "ssh_detect.nasl", oid_ok)])
    run = ScanRun(activity=tuple(gvm_events(text)), health=dies_at(5))

    report = correlate([run], plugins=plugins, check_kinds={"gvm": "oid"})

    # ssh_detect finished while the device was still up: the NVT still running is the suspect
    assert report.findings[0].proposal.check.text() == f"gvm:oid:{oid_bad}"


def test_insightvm_port_probed_last_in_two_runs_is_confirmed(plugins):
    def run(order):
        text = "\n".join(insightvm_line(i + 1, p, "Service fingerprinting") for i, p in enumerate(order))
        return ScanRun(activity=tuple(insightvm_events(text)), health=dies_at(len(order) + 1))

    report = correlate([run([22, 443, 7100]), run([443, 22, 7100])], plugins=plugins)

    finding = report.findings[0]
    assert finding.proposal.ports == PortSet.parse("7100/tcp")
    assert "confirmed" in finding.description


def test_a_host_that_stayed_up_has_no_finding(plugins):
    run = ScanRun(activity=tuple(nmap_activity(io.StringIO(nmap_log(slow_scan_dying_on(7100, []))))),
                         health=health([(0, "up"), (5, "up")]))

    assert correlate([run], plugins=plugins).findings == ()


def test_the_probe_after_the_killer_is_ruled_out_by_a_rerun_in_another_order(plugins):
    # the heartbeat saw the device up after 7100 killed it, and 7101 went out before it saw it down
    first = nmap_run(nmap_connects([7098, 7099, 7100, 7101], start_s=0.5, step_s=0.7), dead_at=3.0)
    rerun = nmap_run(nmap_connects([7160, 7003, 7100, 7055], start_s=0.5, step_s=0.7), dead_at=3.0)

    report = correlate([first, rerun], plugins=plugins)

    assert report.observations[0].top().port == 7101  # last before the failure, yet innocent
    finding = report.findings[0]
    assert finding.proposal.ports == PortSet.parse("7100/tcp") and "confirmed" in finding.description


# -- the probe in flight and its aftermath --------------------------------------------------------------
def dying_version_scan(*, aborted: bool, scripts_port: int | None = None) -> ScanRun:
    """The device dies on GetRequest to 8081 at 4.5 s (seen up at 4 s, down at 5 s); twenty NSE
    scripts start within milliseconds after it."""
    lines = nmap_version_scan(8081, ["NULL", "GenericLines", "GetRequest"], start_s=3.5, step_s=0.5,
                              aborted=aborted, scripts_after=20, scripts_port=scripts_port)
    return nmap_run(lines, dead_at=5.0)


def test_the_probe_in_flight_when_nmap_aborted_the_service_is_the_top_suspect(plugins):
    report = correlate([dying_version_scan(aborted=True, scripts_port=8443)], plugins=plugins)

    top = report.observations[0].top()
    assert (top.port, top.probe) == (8081, "GetRequest")
    assert "in flight when the scanner lost the service" in top.reason
    assert report.findings[0].suspect.probe == "GetRequest"
    assert report.findings[0].title.startswith("Probe GetRequest on port 8081/tcp")


def test_a_burst_after_the_scanner_lost_the_device_is_aftermath_not_rate(plugins):
    lost = correlate([dying_version_scan(aborted=True, scripts_port=8443)], plugins=plugins)
    blind = correlate([dying_version_scan(aborted=False, scripts_port=8443)], plugins=plugins)

    # without nmap's own signal the scripts look like a burst that killed it: the wrong cause
    assert any(f.proposal and f.proposal.kind == "rate" for f in blind.findings)
    assert not any(f.proposal and f.proposal.kind == "rate" for f in lost.findings)
    assert lost.observations[0].burst.probes < blind.observations[0].burst.probes


def test_in_flight_puts_what_was_sent_after_the_last_up_first_and_the_aftermath_after_it():
    from scanguard.correlate import in_flight, observe

    ob = observe([dying_version_scan(aborted=False)])[0]

    order = in_flight(ob)
    assert (order[0].port, order[0].probe) == (8081, "GetRequest")
    assert [s.check_id for s in order[1:4]] == ["script-0", "script-1", "script-2"]


def test_in_flight_starts_with_the_probe_nmap_lost_the_service_on():
    from scanguard.correlate import in_flight, observe

    lines = nmap_version_scan(8081, ["NULL", "GenericLines", "GetRequest"], start_s=4.2, step_s=0.2, aborted=True)
    ob = observe([nmap_run(lines, dead_at=5.0)])[0]

    # all three went out after the last up, but nmap lost the service on GetRequest; the others follow oldest first
    assert [(s.probe, s.reason) for s in in_flight(ob)] == [
        ("GetRequest", "in flight when the scanner lost the service"), ("NULL", "sent after the device was last seen up"),
        ("GenericLines", "sent after the device was last seen up")]
