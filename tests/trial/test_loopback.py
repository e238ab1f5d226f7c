"""On a shared loopback address a trial probes only the device's own ports and warns about the
machine's listeners there."""

from __future__ import annotations

import socket

import pytest

from scanguard import PortSet, load_workspace
from scanguard.testbed import load_personality, run_device
from scanguard.trial import run_trial
from scanguard.trial.loopback import Listener, foreign_listeners, listeners

from .conftest import MACHINE_LISTENERS, needs_nmap, quick

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000
   1: E100007F:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000
   2: 0100007F:9C40 0100007F:01BB 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000
"""
TCP6 = """  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def test_listening_sockets_are_read_from_the_kernels_tables(tmp_path):
    (tmp_path / "tcp").write_text(TCP)
    (tmp_path / "tcp6").write_text(TCP6)

    found = listeners(tmp_path)

    assert found == [Listener(address="0.0.0.0", port=2024, protocol="tcp"),
                     Listener(address="127.0.0.225", port=443, protocol="tcp"),
                     Listener(address="::", port=8080, protocol="tcp")]  # the connected socket is left out


def test_wildcard_listeners_are_foreign_and_with_the_devices_ports_known_so_is_any_other():
    found = [Listener(address="0.0.0.0", port=2024, protocol="tcp"),
             Listener(address="127.0.0.225", port=443, protocol="tcp"),
             Listener(address="127.0.0.225", port=9999, protocol="tcp"),
             Listener(address="127.0.0.9", port=25, protocol="tcp")]

    assert [x.port for x in foreign_listeners("127.0.0.225", None, found=found)] == [2024]
    assert [x.port for x in foreign_listeners("127.0.0.225", PortSet.parse("443"), found=found)] == [2024, 9999]
    assert foreign_listeners("10.0.0.5", None, found=found) == []  # not a shared loopback address


@needs_nmap[0]
@needs_nmap[1]
@pytest.mark.xdist_group(MACHINE_LISTENERS)
def test_a_machines_listener_on_the_devices_address_is_warned_about_and_never_probed(lab, nmap_vendor, tmp_path):
    extra = "constraints:\n  excluded_ports:\n    - ports: 7100/tcp\n      reason: it hangs the terminal\n"
    ws = load_workspace(lab("lab-terminal", "127.0.0.225", extra))
    with socket.socket() as host_service:
        # a port of the kernel's choosing: no device of a test running beside this one can hold it
        host_service.bind(("0.0.0.0", 0))
        host_service.listen(8)
        port = host_service.getsockname()[1]
        with run_device(load_personality("payment-terminal"), "127.0.0.225") as dev:
            result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t",
                               options=quick(dev.heartbeat_port, stages=("discovery-syn", "service"),
                                             survey_ports=PortSet.parse(f"1-3000,{port}")))

    assert any(f"{port}/tcp (bound to 0.0.0.0)" in w for w in result.warnings)
    assert not [e for e in result.activity if e.port == port]
    assert all(not s.ports.contains(port) for s in result.stages)
    assert [r.label for r in result.stages[-1].runs] == ["service 443/tcp"]
