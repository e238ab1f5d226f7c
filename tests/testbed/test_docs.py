"""docs/testbed.md is the reference of the personality format: every key of the format is in it,
every example in it is valid (or fails with the errors it shows), and each behaves as its text
says."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanguard.cli.app import app
from scanguard.health import LOOPBACK_OBSERVER
from scanguard.testbed import load_personality_file, run_device
from scanguard.testbed.personality import (
    ConnectRule,
    PayloadRule,
    Personality,
    ProbesRule,
    RateRule,
    Recovery,
    Service,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "testbed.md"
runner = CliRunner()


def _examples() -> list[tuple[str, str]]:
    """(id, yaml text) of every ```yaml block of the doc, in order."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [(re.search(r"^id: (\S+)", b, re.M).group(1), b) for b in blocks]


def _errors_shown() -> list[str]:
    """The error lines of every ```text block of the doc."""
    blocks = re.findall(r"```text\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [line for b in blocks for line in b.splitlines() if line.startswith("error ")]


@pytest.fixture
def example(tmp_path: Path):
    """example(id) -> the path of that doc example, written as <id>.yaml."""

    def write(pid: str) -> Path:
        text = dict(_examples())[pid]
        path = tmp_path / f"{pid}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_the_doc_names_every_key_of_the_personality_format():
    text = DOC.read_text(encoding="utf-8")
    for model in (Personality, Service, ConnectRule, PayloadRule, RateRule, ProbesRule, Recovery):
        for name in model.model_fields:
            assert f"`{name}`" in text or f"{name}:" in text, f"{model.__name__}.{name} is not documented"
    for kind in ("connect", "payload", "rate", "probes"):
        assert f"| `{kind}` |" in text
    for mode in ("never", "at-once", "after-response", "reboot", "reset"):
        assert f"`{mode}`" in text


def test_every_valid_example_passes_testbed_check(example):
    ids = [pid for pid, _ in _examples() if pid != "lab-plc"]
    r = runner.invoke(app, ["testbed", "check", *(str(example(pid)) for pid in ids)])
    assert r.exit_code == 0, r.output
    assert all(f"ok {pid}:" in r.output for pid in ids)


def test_the_examples_use_every_rule_kind_and_recovery_mode(example):
    loaded = [load_personality_file(example(pid)) for pid, _ in _examples() if pid != "lab-plc"]
    assert {r.kind for p in loaded for r in p.fragility} == {"connect", "payload", "rate", "probes"}
    assert {p.recovery.mode for p in loaded} == {"reboot", "reset"}
    assert {s.closes for p in loaded for s in p.services} == {"never", "at-once", "after-response"}


def test_the_wrong_example_fails_with_the_errors_the_doc_shows(example, monkeypatch):
    path = example("lab-plc")
    monkeypatch.chdir(path.parent)
    shown = _errors_shown()
    r = runner.invoke(app, ["testbed", "check", path.name])
    assert r.exit_code == 2
    assert shown[0] in r.output
    # without the unknown key, the rule on a port nothing listens on is what is left
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith("services_note_for_readers")))
    r = runner.invoke(app, ["testbed", "check", path.name])
    assert r.exit_code == 2
    assert shown[1] in r.output


def _send(host: str, port: int, data: bytes = b"", *, source: str | None = None, read: bool = False) -> bytes:
    with socket.create_connection((host, port), timeout=2, source_address=(source, 0) if source else None) as s:
        if data:
            s.sendall(data)
        if not read:
            return b""
        chunks = b""
        while True:
            try:
                got = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                return chunks
            if not got:
                return chunks + b"<closed>"
            chunks += got


def test_the_payload_example_dies_on_get_request_and_on_nothing_else(example, net):
    p = load_personality_file(example("lab-monitor"))
    with run_device(p) as dev:
        _send(dev.address, 2050, b"OPTIONS / HTTP/1.0\r\n\r\n")
        _send(dev.address, 2050, b"\r\n\r\n")
        _send(dev.address, 2050)
        assert net.eventually(lambda: dev.status().probes == 3) and dev.is_up()
        _send(dev.address, 2050, b"GET / HTTP/1.0\r\n\r\n")
        assert dev.wait_for("down")
        assert [e.rule for e in dev.truth() if e.kind == "death"] == ["payload"]


def test_the_gateway_example_hangs_up_as_its_services_say(example):
    p = load_personality_file(example("lab-gateway"))
    with run_device(p) as dev:
        assert _send(dev.address, 9100, read=True) == b"<closed>"  # at-once
        assert _send(dev.address, 80, b"GET / HTTP/1.0\r\n\r\n", read=True).endswith(b"\r\n\r\n<closed>")
        with socket.create_connection((dev.address, 22), timeout=1) as s:  # never: the banner, then silence
            assert s.recv(100).startswith(b"SSH-2.0")
            with pytest.raises(socket.timeout):
                s.recv(100)


def test_the_one_port_example_counts_a_scans_connections_to_its_heartbeat_but_not_the_observers(example, net):
    p = load_personality_file(example("lab-sensor"))
    with run_device(p) as dev:
        for _ in range(30):
            _send(dev.address, 8443, source=LOOPBACK_OBSERVER)
        assert dev.is_up() and dev.status().probes == 0
        for _ in range(30):
            try:
                _send(dev.address, 8443)
            except OSError:  # refused: it went down
                break
        assert dev.wait_for("down")
        assert [e.rule for e in dev.truth() if e.kind == "death"] == ["rate"]


def test_the_pump_example_dies_on_a_connect_and_reboots(example):
    p = load_personality_file(example("lab-pump")).with_recovery(delay_s=0.2)
    with run_device(p) as dev:
        _send(dev.address, 5000)
        assert dev.wait_for("down") and dev.wait_for("up")
        assert [e.how for e in dev.truth() if e.kind == "recovery"] == ["reboot"]


def test_the_recorder_example_dies_on_its_hundredth_probe_and_needs_a_reset(example):
    p = load_personality_file(example("lab-recorder"))
    with run_device(p) as dev:
        for _ in range(99):
            _send(dev.address, 554)
        assert dev.is_up()
        _send(dev.address, 554)
        assert dev.wait_for("down")
        assert not dev.wait_for("up", timeout_s=0.5)
        dev.reset()
        assert dev.is_up()
