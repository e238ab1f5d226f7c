"""The speed stage exercises the device's services, the heartbeat port included when it is one:
only the health monitor's own connections are left uncounted."""

from __future__ import annotations

from scanguard import PortSet, load_workspace
from scanguard.testbed import Personality, run_device
from scanguard.trial import run_trial

from .conftest import needs_nmap, quick

pytestmark = needs_nmap

ONE_PORT = Personality.model_validate({
    "id": "lab-sensor", "name": "Lab sensor", "evidence": ["INC-TEST-2"],
    "services": [{"port": 8443, "name": "api"}], "heartbeat": 8443,
    "fragility": [{"kind": "rate", "connections": 15, "window_s": 1.0, "reason": "runs out of workers"}],
    "recovery": {"mode": "reboot", "delay_s": 0.3},
})


def test_a_device_whose_one_service_is_its_heartbeat_port_is_found_rate_fragile(lab, nmap_vendor, tmp_path):
    ws = load_workspace(lab("lab-sensor", "127.0.0.230"))
    with run_device(ONE_PORT, "127.0.0.230") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t", reset=dev.reset,
                           options=quick(dev.heartbeat_port, stages=("service", "speed"),
                                         device_ports=PortSet.parse("8443")))
        rules = {e.rule for e in dev.truth() if e.kind == "death"}

    assert [s.status for s in result.stages] == ["passed", "failed"]
    assert rules == {"rate"}
    assert result.proposals[0].kind == "rate" and result.proposals[0].packets_per_second < 15
    # the port survived a connect of its own: it is not proposed as a cause
    assert not [f for f in result.findings if f.proposal is not None and f.proposal.kind == "excluded_port"]


def test_a_rate_limit_is_proposed_only_once_the_device_survived_the_same_scan_at_it(lab, nmap_vendor, tmp_path):
    # the limit a timeline suggests is a guess; too high a guess is halved until the device survives
    from scanguard import Finding, ProfileChange
    from scanguard.testbed import load_personality
    from scanguard.trial.runner import _Trial, _verify_rate

    ws = load_workspace(lab("lab-plc", "127.0.0.233"))
    with run_device(load_personality("plc").with_recovery(delay_s=0.3), "127.0.0.233") as dev:
        opts = quick(dev.heartbeat_port, stages=("speed",), device_ports=PortSet.parse("80,502,2455"), speed_probes=120)
        t = _Trial(ws.profiles[0], dev.address, nmap_vendor, tmp_path, opts, dev.reset, lambda _m: None, None, None, None)
        t.monitor.start()
        try:
            assert t.monitor.wait_for("up")
            [plan] = t.plans("speed")
            guess = Finding(title="Scan rate takes down the PLC", host=dev.address,
                            proposal=ProfileChange(kind="rate", packets_per_second=80, reason="from the timeline"))
            records: list = []
            verified = _verify_rate(t, plan, guess, records, [])
        finally:
            t.monitor.stop()
        deaths = {e.rule for e in dev.truth() if e.kind == "death"}

    assert records[0].device_went_down and deaths == {"rate"}  # 80 packets/s was too many
    assert not records[-1].device_went_down
    assert verified.proposal.packets_per_second < 20  # the PLC dies at 20 connections a second
    assert f"survived the same scan at {verified.proposal.packets_per_second} packets/s" in verified.proposal.reason
