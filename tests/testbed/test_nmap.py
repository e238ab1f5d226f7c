"""A real nmap connect scan kills the payment terminal, and sees a dead device's ports closed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from scanguard.testbed import run_device

NMAP = shutil.which("nmap")
pytestmark = [pytest.mark.nmap, pytest.mark.skipif(NMAP is None, reason="nmap is not installed (needs /usr/bin/nmap)")]


def nmap(address: str, ports: str) -> str:
    # -n: never resolve names; -Pn: no host discovery, so the only traffic is the connect scan
    result = subprocess.run([NMAP, "-n", "-Pn", "-sT", "-p", ports, address], capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout


def test_an_nmap_connect_scan_of_port_7100_kills_the_payment_terminal(personality):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        report = nmap(dev.address, "7100")
        assert re.search(r"^7100/tcp\s+open", report, re.M)  # the connect succeeded: that is what kills it
        assert dev.wait_for("down")
        death = next(e for e in dev.truth() if e.kind == "death")
        assert (death.rule, death.port) == ("connect", 7100)


def test_nmap_sees_a_dead_device_s_ports_closed(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        report = nmap(dev.address, ",".join(map(str, dev.ports)))
        assert all(re.search(rf"^{port}/tcp\s+closed", report, re.M) for port in dev.ports), report


def test_an_nmap_scan_that_skips_7100_leaves_the_payment_terminal_up(personality):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        report = nmap(dev.address, "1-7099,7101-7200")
        assert re.search(r"^443/tcp\s+open", report, re.M)
        assert dev.is_up() and dev.status().deaths == 0
