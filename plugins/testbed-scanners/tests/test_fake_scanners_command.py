"""`scanguard testbed scanner`: the fakes come from the installed plugin (not from the tests
folder), are served where scanguard.toml says on loopback only, with the variables a shell needs,
and a console edit through them is drift."""

from __future__ import annotations

import json
import socket
import ssl
import textwrap
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

import scanguard_testbed_scanners
from scanguard.cli.app import app
from scanguard.plugin.manager import load_plugins

runner = CliRunner()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def workspace(root: Path, scanners: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "scanguard.toml").write_text(textwrap.dedent('[workspace]\nname = "t"\nstate = "state.db"\n') + scanners)
    (root / "profiles").mkdir(exist_ok=True)
    return root


def test_the_installed_plugin_registers_the_fakes():
    fakes = load_plugins().fake_scanners()
    assert {"nessus", "tenableio", "tenablesc", "insightvm", "gvm"} <= set(fakes)
    assert fakes["nessus"].credentials == ("access_key", "secret_key") and fakes["nessus"].default_port == 8834
    assert fakes["insightvm"].credentials == ("username", "password") and fakes["insightvm"].default_port == 3780
    assert fakes["gvm"].credentials == ("username", "password") and fakes["gvm"].default_port == 9390
    # shipped in the package, not found in the tests folder
    assert "tests" not in Path(scanguard_testbed_scanners.__file__).resolve().parent.parts[-3:]


@pytest.mark.parametrize("vendor", ["nessus", "tenableio", "tenablesc", "insightvm", "gvm"])
def test_each_fake_serves_tls_at_the_loopback_address_and_port_asked(vendor):
    fake = load_plugins().fake_scanners()[vendor]
    port = free_port("127.0.0.2")
    running = fake.start("127.0.0.2", port)
    try:
        assert running.url == f"https://127.0.0.2:{port}"
        assert set(running.credentials) == set(fake.credentials) and all(running.credentials.values())
        with pytest.raises(KeyError):
            running.console_edit("never-synced")
        if vendor == "gvm":  # GMP over TLS, its certificate checked for the address served
            ctx = ssl.create_default_context(cafile=running.ca_bundle)
            with socket.create_connection(("127.0.0.2", port), timeout=10) as raw, \
                    ctx.wrap_socket(raw, server_hostname="127.0.0.2") as tls:
                tls.sendall(b"<get_version/>")
                assert b"<get_version_response" in tls.recv(65536)
        else:
            r = requests.get(running.url + "/", verify=running.ca_bundle, timeout=10)
            assert r.status_code < 500
    finally:
        running.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", port), timeout=2)


def test_a_url_without_a_port_is_served_at_its_schemes_port_where_the_client_goes(tmp_path):
    from scanguard.testbed.scanners import bindings
    from scanguard.workspace import load_workspace

    ws = workspace(tmp_path / "ws", '[scanners.sc]\ntype = "tenablesc"\nurl = "https://127.0.0.3"\n'
                                    'credentials = { access_key = "A", secret_key = "S" }\n')
    [b] = bindings(["tenablesc"], load_plugins().fake_scanners(), load_workspace(ws))
    assert (b.scanner, b.host, b.port, dict(b.env_names)) == ("sc", "127.0.0.3", 443,
                                                              {"access_key": "A", "secret_key": "S"})


def test_start_refuses_a_scanner_whose_url_is_not_loopback(tmp_path):
    ws = workspace(tmp_path / "ws", '[scanners.nessus-main]\ntype = "nessus"\nurl = "https://10.1.2.3:8834"\n'
                                    'credentials = { access_key = "A", secret_key = "S" }\n')
    r = runner.invoke(app, ["testbed", "scanner", "start", "nessus", "-w", str(ws), "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["status"] == "invalid" and "nessus-main" in doc["error"] and "loopback" in doc["error"]


def test_start_detached_prints_the_variables_scanguard_toml_names_and_stop_unsets_them(tmp_path, monkeypatch):
    port = free_port()
    ws = workspace(tmp_path / "ws", f'[scanners.lab]\ntype = "insightvm"\nurl = "https://127.0.0.1:{port}"\n'
                                    'credentials = { username = "LAB_USER", password = "LAB_PASS" }\n')
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    r = runner.invoke(app, ["testbed", "scanner", "start", "insightvm", "--detach", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    try:
        assert doc["scanners"] == [{"scanner": "lab", "vendor": "insightvm", "url": f"https://127.0.0.1:{port}"}]
        env = doc["env"]
        assert {"LAB_USER", "LAB_PASS", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SCANGUARD_TESTBED_SCANNERS"} <= set(env)
        # what the variables say is what the fake accepts
        r2 = requests.get(f"https://127.0.0.1:{port}/api/3/scan_templates", auth=(env["LAB_USER"], env["LAB_PASS"]),
                          verify=env["REQUESTS_CA_BUNDLE"], timeout=10)
        assert r2.status_code == 200
        edit = runner.invoke(app, ["testbed", "scanner", "edit", "lab", "full-audit", "--control",
                                   env["SCANGUARD_TESTBED_SCANNERS"], "--json"])
        assert edit.exit_code == 2 and "sync" in json.loads(edit.stdout)["error"]  # nothing synced yet
    finally:
        stop = runner.invoke(app, ["testbed", "scanner", "stop", "--control", env["SCANGUARD_TESTBED_SCANNERS"],
                                   "--json"])
    assert stop.exit_code == 0
    assert set(json.loads(stop.stdout)["unset"]) == set(env) and json.loads(stop.stdout)["stopped"] == ["lab"]


def test_edit_and_stop_without_fakes_say_how_to_start_them(monkeypatch):
    monkeypatch.delenv("SCANGUARD_TESTBED_SCANNERS", raising=False)
    for args in (["edit", "nessus-main", "full-audit"], ["stop"]):
        r = runner.invoke(app, ["testbed", "scanner", *args])
        assert r.exit_code == 2 and "testbed scanner start" in r.stderr
