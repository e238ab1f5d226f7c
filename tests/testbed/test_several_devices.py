"""Several virtual devices run at once, each on its own loopback address."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack

import pytest

from scanguard.testbed import run_device


def test_several_devices_run_at_once_on_different_loopback_addresses(personality, net):
    with ExitStack() as stack:
        devs = [stack.enter_context(run_device(personality(name, delay_s=30)))
                for name in ("payment-terminal", "payment-terminal", "plc")]
        addresses = [d.address for d in devs]
        assert len(set(addresses)) == 3
        assert all(a.startswith("127.0.0.") for a in addresses)
        assert all(not net.refused(d.address, d.heartbeat_port) for d in devs)


def test_a_device_never_picks_the_address_of_one_that_is_down_awaiting_its_reboot(personality, net, monkeypatch):
    import scanguard.testbed.device as device

    with run_device(personality("payment-terminal", delay_s=30)) as first:
        net.connect(first.address, 7100)
        assert first.wait_for("down")  # its ports are closed now, but it comes back there
        # the next device is offered the dead one's address first: it must take another
        monkeypatch.setattr(device.random, "sample", lambda seq, k: [int(first.address.rsplit(".", 1)[1]), *[
            o for o in seq if f"127.0.0.{o}" != first.address][: k - 1]])
        with run_device(personality("plc")) as second:
            assert second.address != first.address


def test_a_device_never_picks_the_address_given_to_another_that_is_down(personality, net, monkeypatch):
    import scanguard.testbed.device as device

    p = personality("payment-terminal", delay_s=30)
    with run_device(p) as probe:
        free = probe.address
    with run_device(p, host=free) as given:
        net.connect(given.address, 7100)
        assert given.wait_for("down")  # its ports are closed now, but it comes back there
        monkeypatch.setattr(device.random, "sample", lambda seq, k: [int(free.rsplit(".", 1)[1]), *[
            o for o in seq if f"127.0.0.{o}" != free][: k - 1]])
        with run_device(personality("plc")) as second:
            assert second.address != free
    with run_device(personality("plc")) as third:  # once the given device stops, its address is free again
        assert third.address == free


def test_a_device_never_picks_an_address_another_process_holds(personality, net, monkeypatch):
    # two test runs (or the workers of one) each start devices: one whose device is down awaiting
    # its reboot must not find another process's device answering at its address meanwhile
    import scanguard.testbed.device as device

    # the other process claims an address no process holds (the workers of this test run start
    # devices meanwhile: it takes the first one free, and says which)
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom scanguard.testbed import device\n"
                               "with device._HELD_LOCK:\n"
                               "    host = next(h for h in (f'127.0.0.{o}' for o in range(2, 255)) if device._claim(h))\n"
                               "print(host, flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        taken = other.stdout.readline().strip()
        assert taken.startswith("127.0.0.")
        monkeypatch.setattr(device.random, "sample", lambda seq, k: [int(taken.rsplit(".", 1)[1]), *[
            o for o in seq if f"127.0.0.{o}" != taken][: k - 1]])
        with run_device(personality("plc")) as dev:
            assert dev.address != taken
    finally:
        other.stdin.close()
        other.wait(timeout=30)
    with run_device(personality("plc")) as again:  # the other process is gone, and its claim with it
        assert again.address == taken


def test_killing_one_device_leaves_the_others_up(personality, net):
    with ExitStack() as stack:
        first, second = (stack.enter_context(run_device(personality("payment-terminal", delay_s=30)))
                         for _ in range(2))
        net.connect(first.address, 7100)
        assert first.wait_for("down")
        assert second.is_up() and not net.refused(second.address, second.heartbeat_port)


def test_a_device_listens_on_the_address_it_is_given(personality, net):
    p = personality("plc")
    with run_device(p) as probe:
        free = probe.address  # free a moment ago, and free again once this device stops
    with run_device(p, host=free) as dev:
        assert dev.address == free
        assert not net.refused(free, dev.heartbeat_port)


def test_a_device_refuses_an_address_off_loopback(personality):
    with pytest.raises(ValueError, match="not a loopback address"):
        with run_device(personality("plc"), host="192.0.2.10"):
            pass
