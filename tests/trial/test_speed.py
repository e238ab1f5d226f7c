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
