"""A device that dies on one payload of one probe on one port: the checks run port by port (a
slow service cannot starve the others), the outage is pinned on the probe in flight, and that
probe alone, replayed on that port, confirms it. No rate limit is proposed for it."""

from __future__ import annotations

from scanguard import PortSet, load_workspace
from scanguard.testbed import Personality, run_device
from scanguard.trial import run_trial

from .conftest import needs_nmap, quick

pytestmark = needs_nmap

SLOW, FATAL, HEARTBEAT = 3101, 3105, 23101
# a port's checks get 25 s: nmap loads its scripts (seconds on a busy machine), waits 6 s for a
# banner, then sends GenericLines; the slow port is cut at its limit
DEVICE = Personality.model_validate({
    "id": "lab-gateway", "name": "Lab gateway", "evidence": ["INC-TEST-1"],
    # both ports keep a connection open and say nothing: version detection tries probe after probe
    "services": [{"port": SLOW, "name": "slow"}, {"port": FATAL, "name": "fragile"}],
    "heartbeat": HEARTBEAT,
    "fragility": [{"kind": "payload", "port": FATAL, "pattern": "^\\r\\n\\r\\n",
                   "reason": "two bare line ends (nmap's GenericLines probe) crash the gateway"}],
    "recovery": {"mode": "reboot", "delay_s": 0.3},
})


def test_the_probe_that_kills_is_confirmed_alone_on_its_port_and_no_rate_is_proposed(lab, nmap_vendor, tmp_path):
    ws = load_workspace(lab("lab-gateway", "127.0.0.226"))
    own = PortSet.parse(f"{SLOW},{FATAL},{HEARTBEAT}")
    with run_device(DEVICE, "127.0.0.226") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t", reset=dev.reset,
                           options=quick(dev.heartbeat_port, stages=("service", "vulnerability"), device_ports=own,
                                         vulnerability_timeout_s=25))
        deaths = [(e.rule, e.port) for e in dev.truth() if e.kind == "death"]

    checks = result.stages[-1]
    assert checks.name == "vulnerability" and checks.status == "failed" and checks.confirmed
    suspect = result.findings[0].suspect
    assert (suspect.port, suspect.probe) == (FATAL, "GenericLines")
    assert result.findings[0].title == f"Probe GenericLines on port {FATAL}/tcp takes down 127.0.0.226"
    assert result.proposals[0].kind == "excluded_port" and result.proposals[0].ports == PortSet.parse(f"{FATAL}/tcp")
    assert not [f for f in result.findings if f.proposal is not None and f.proposal.kind == "rate"]
    # what the device itself says: it died of that payload, in the scan and in the replay
    assert deaths == [("payload", FATAL), ("payload", FATAL)]
    # suspects are replayed one by one (on a busy machine a bare connect may come first and be
    # cleared); the one replay that took the device down is GenericLines alone on the fatal port
    replays = [r for r in checks.runs if r.replayed is not None]
    assert [(r.replayed.port, r.replayed.probe) for r in replays if r.device_went_down] == [(FATAL, "GenericLines")]
    assert replays[-1].device_went_down and all(r.replayed.port == FATAL for r in replays)


def test_a_slow_service_is_cut_at_its_own_limit_and_the_next_port_still_gets_its_checks(lab, nmap_vendor, tmp_path):
    ws = load_workspace(lab("lab-gateway", "127.0.0.227"))
    own = PortSet.parse(f"{SLOW},{FATAL},{HEARTBEAT}")
    with run_device(DEVICE, "127.0.0.227") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t", reset=dev.reset,
                           options=quick(dev.heartbeat_port, stages=("vulnerability",), device_ports=own,
                                         vulnerability_timeout_s=25, confirm=False))

    runs = {r.label: r for r in result.stages[0].runs}
    assert runs[f"checks {SLOW}/tcp"].timed_out and not runs[f"checks {SLOW}/tcp"].device_went_down
    assert runs[f"checks {FATAL}/tcp"].device_went_down  # reached despite the slow port before it
