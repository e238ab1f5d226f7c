"""The control interface: status, truth, reset and kill over HTTP/JSON, alive while the device is dead."""

from __future__ import annotations

import http.client
import json

import pytest

from scanguard.testbed import ControlClient, ControlError, run_device


def test_the_control_interface_reports_status(personality):
    with run_device(personality("plc")) as dev:
        status = dev.control().status()
        assert (status.device, status.host, status.state) == ("plc", dev.address, "up")
        assert status.tcp_ports == dev.ports


def test_the_control_interface_serves_the_ground_truth(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        assert dev.control().truth() == dev.truth()


def test_a_kill_through_the_control_interface_takes_the_device_down(personality, net):
    with run_device(personality("plc")) as dev:
        assert dev.control().kill().state == "down"
        assert net.refused(dev.address, dev.heartbeat_port)


def test_the_control_interface_answers_json_over_plain_http(personality):
    with run_device(personality("plc")) as dev:
        conn = http.client.HTTPConnection("127.0.0.1", dev.control_port, timeout=5)
        conn.request("GET", "/status")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
        assert json.loads(resp.read())["state"] == "up"


def test_an_unknown_control_path_is_an_error_naming_it(personality):
    with run_device(personality("plc")) as dev:
        client = dev.control()
        with pytest.raises(ControlError, match="404"):
            client._call("GET", "/nope")


def test_the_control_client_names_an_unreachable_interface():
    with pytest.raises(ControlError, match="http://127.0.0.1:1/"):
        ControlClient("127.0.0.1", 1, timeout_s=1).status()
