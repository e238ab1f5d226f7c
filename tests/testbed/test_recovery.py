"""How a dead device comes back: by itself after a delay, or only when reset."""

from __future__ import annotations

from scanguard.testbed import run_device


def test_the_payment_terminal_reboots_after_its_delay(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.2)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        assert dev.wait_for("up")
        assert not net.refused(dev.address, dev.heartbeat_port)


def test_a_reset_device_stays_down_until_reset(personality, net):
    p = personality("infusion-rack")
    with run_device(p) as dev:
        net.connect(dev.address, p.fragility[0].port, b"POST /pump HTTP/1.1\r\n\r\n")
        assert dev.wait_for("down")
        assert not dev.wait_for("up", timeout_s=0.3)  # bounded: no reboot is scheduled at all
        assert dev.reset().state == "up"
        assert not net.refused(dev.address, dev.heartbeat_port)


def test_a_reset_through_the_control_interface_brings_the_device_back(personality, net):
    p = personality("infusion-rack")
    with run_device(p) as dev:
        net.connect(dev.address, p.fragility[0].port, b"GET / HTTP/1.0\r\n\r\n")
        assert dev.wait_for("down")
        control = dev.control()
        assert control.status().state == "down"
        assert control.reset().state == "up"
        assert not net.refused(dev.address, dev.heartbeat_port)


def test_the_patient_monitor_stops_rebooting_after_max_reboots(personality, net):
    p = personality("patient-monitor", delay_s=0.05, max_reboots=1)
    echo = next(r for r in p.fragility if r.kind == "payload").port
    with run_device(p) as dev:
        net.connect(dev.address, echo, b"A" * 300)
        assert dev.wait_for("down")
        assert dev.wait_for("up")
        net.connect(dev.address, echo, b"A" * 300)
        assert dev.wait_for("down")
        assert not dev.wait_for("up", timeout_s=0.5)  # bounded wait; the delay is 0.05 s
        assert dev.reset().state == "up"


def test_a_device_that_came_back_forgets_its_probe_count(personality, net):
    p = personality("payment-terminal", delay_s=0.05)
    with run_device(p) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down") and dev.wait_for("up")
        assert dev.status().probes == 0
