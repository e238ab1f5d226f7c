"""Each fragility rule kills a virtual device; what no rule covers leaves it up."""

from __future__ import annotations

import socket

from scanguard.health import LOOPBACK_OBSERVER
from scanguard.testbed import ProbesRule, RateRule, run_device


def test_a_connection_to_port_7100_kills_the_payment_terminal(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        assert dev.is_up()
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")


def test_a_dead_device_refuses_connections_on_every_port(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        assert all(net.refused(dev.address, port) for port in dev.ports)


def test_an_http_request_to_port_80_kills_the_infusion_rack(personality, net):
    p = personality("infusion-rack")
    with run_device(p) as dev:
        port = p.fragility[0].port
        net.connect(dev.address, port, b"GET / HTTP/1.1\r\nHost: rack\r\n\r\n")
        assert dev.wait_for("down")


def test_a_payload_that_does_not_match_leaves_the_infusion_rack_up(personality, net):
    p = personality("infusion-rack")
    with run_device(p) as dev:
        answer = net.connect(dev.address, p.fragility[0].port, b"hello rack\r\n", read=True)
        assert answer.startswith(b"HTTP/1.0 400")  # the rack has read and answered it
        assert dev.is_up()


def test_connections_above_the_rate_kill_the_plc(personality, net):
    p = personality("plc")
    rule = next(r for r in p.fragility if isinstance(r, RateRule))
    with run_device(p) as dev:
        for _ in range(rule.connections * 5):
            try:
                net.connect(dev.address, 2455)
            except OSError:  # refused, or reset mid-handshake: it is going down
                break
        assert dev.wait_for("down")
        assert [e.rule for e in dev.truth() if e.kind == "death"] == ["rate"]


def test_a_flood_kills_the_cr_reader(personality, net):
    p = personality("cr-reader")
    http = next(s.port for s in p.services if s.name == "http")
    with run_device(p) as dev:
        for _ in range(p.fragility[0].connections * 5):
            try:
                net.connect(dev.address, http)
            except OSError:  # refused, or reset mid-handshake: it is going down
                break
        assert dev.wait_for("down")


def test_the_device_dies_on_the_nth_probe(personality, net):
    p = personality("video-recorder")
    p = p.model_copy(update={"fragility": (ProbesRule(kind="probes", count=5),)})
    rtsp = next(s.port for s in p.services if s.name == "rtsp")
    with run_device(p) as dev:
        for _ in range(4):
            assert net.connect(dev.address, rtsp, b"OPTIONS * RTSP/1.0\r\n\r\n", read=True).startswith(b"RTSP/1.0")
        assert dev.is_up()
        net.connect(dev.address, rtsp)
        assert dev.wait_for("down")
        assert dev.status().deaths == 1


def test_the_observers_heartbeat_connections_are_not_counted_as_probes(personality, net):
    p = personality("video-recorder")
    p = p.model_copy(update={"fragility": (ProbesRule(kind="probes", count=2),)})
    rtsp = next(s.port for s in p.services if s.name == "rtsp")
    with run_device(p) as dev:
        for _ in range(5):
            net.connect(dev.address, dev.heartbeat_port, source=LOOPBACK_OBSERVER)
        assert net.connect(dev.address, rtsp, b"OPTIONS * RTSP/1.0\r\n\r\n", read=True).startswith(b"RTSP/1.0")
        assert dev.is_up()
        assert dev.status().probes == 1


def test_a_scans_connections_to_the_heartbeat_port_count_like_any_probe(personality, net):
    # a device whose one service is its heartbeat port is still exercised by a scan
    p = personality("video-recorder")
    p = p.model_copy(update={"fragility": (ProbesRule(kind="probes", count=3),)})
    with run_device(p) as dev:
        for _ in range(2):
            net.connect(dev.address, dev.heartbeat_port)
        assert dev.is_up() and dev.status().probes == 2
        net.connect(dev.address, dev.heartbeat_port)
        assert dev.wait_for("down")


def test_the_health_monitor_connects_from_the_observer_address_on_loopback(personality):
    from scanguard.health import HealthMonitor

    p = personality("video-recorder")
    p = p.model_copy(update={"fragility": (ProbesRule(kind="probes", count=1),)})
    with run_device(p) as dev:
        with HealthMonitor(dev.address, dev.heartbeat_port, interval_s=0.02) as mon:
            assert mon.wait_for("up")
            for _ in range(10):
                mon.probe_once()
        assert dev.is_up() and dev.status().probes == 0


def test_a_port_without_a_rule_does_not_kill_the_device(personality, net):
    p = personality("network-switch")
    ssh = next(s.port for s in p.services if s.name == "ssh")
    with run_device(p) as dev:
        assert net.connect(dev.address, ssh, read=True).startswith(b"SSH-2.0")
        assert dev.is_up()


def test_a_tls_hello_does_not_kill_the_switch_but_plain_text_does(personality, net):
    p = personality("network-switch")
    https = p.fragility[0].port
    with run_device(p) as dev:
        net.connect(dev.address, https, b"\x16\x03\x01\x00\x05hello")
        ssh = next(s.port for s in p.services if s.name == "ssh")
        assert net.connect(dev.address, ssh, read=True).startswith(b"SSH-2.0")  # the loop has seen the hello
        assert dev.is_up()
        net.connect(dev.address, https, b"GET / HTTP/1.0\r\n\r\n")
        assert dev.wait_for("down")


def test_a_datagram_to_the_chargen_port_kills_the_patient_monitor(personality):
    p = personality("patient-monitor")
    rule = next(r for r in p.fragility if r.kind == "connect")
    with run_device(p) as dev:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\r\n", (dev.address, rule.port))
        assert dev.wait_for("down")
        assert [(e.rule, e.protocol) for e in dev.truth() if e.kind == "death"] == [("connect", "udp")]
