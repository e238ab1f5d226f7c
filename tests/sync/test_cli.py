"""The diff, sync and history commands: JSON documents, exit codes, human output."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app

from .conftest import MEM
from .harness import write_workspace


@pytest.fixture
def cli(mem_plugins):
    common.reset_plugins(mem_plugins)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    yield invoke
    common.reset_plugins(None)


@pytest.fixture
def ws(tmp_path, mem_scanners):
    mem_scanners("mem-a")
    mem_scanners("mem-b")
    return write_workspace(tmp_path / "ws", {"mem-a": MEM, "mem-b": MEM})


def test_sync_json_summary_counts_per_scanner_and_exits_0(cli, ws):
    r = cli("sync", "-w", str(ws), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["command"] == "sync" and doc["status"] == "ok"
    assert [s["scanner"] for s in doc["scanners"]] == ["mem-a", "mem-b"]
    for s in doc["scanners"]:
        assert {k: s[k] for k in ("created", "updated", "unchanged", "drift_restored")} == \
            {"created": 4, "updated": 0, "unchanged": 0, "drift_restored": 0}
        assert s["errors"] == []
    assert doc["totals"]["writes"] == 8
    again = json.loads(cli("sync", "-w", str(ws), "--json").stdout)
    assert again["totals"]["writes"] == 0 and again["totals"]["unchanged"] == 8


def test_sync_exits_3_and_says_drift_loudly_when_it_restored_drift(cli, ws):
    from . import memory

    cli("sync", "-w", str(ws))
    s = memory.SERVERS["mem-b"]
    rid = next(r for r, o in s.objects.items() if o["name"] == "full-audit")
    s.edit(rid, ports="1-65535/tcp")
    r = cli("sync", "-w", str(ws))
    assert r.exit_code == 3
    assert "DRIFT restored on scanner mem-b: full-audit" in r.stderr and "7100" in r.stderr
    assert "1 drift restored" in r.stderr


def test_sync_scanner_option_limits_the_run(cli, ws):
    doc = json.loads(cli("sync", "-w", str(ws), "--json", "--scanner", "mem-b").stdout)
    assert [s["scanner"] for s in doc["scanners"]] == ["mem-b"]


def test_an_unknown_scanner_is_invalid_configuration_exit_2(cli, ws):
    r = cli("sync", "-w", str(ws), "--json", "--scanner", "nope")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["status"] == "invalid" and "nope" in doc["error"]


def test_an_invalid_workspace_exits_2_and_pushes_nothing(cli, tmp_path, mem_scanners):
    s = mem_scanners("mem-a")
    root = write_workspace(tmp_path / "bad", {"mem-a": MEM + "\nbogus = 1"})
    r = cli("sync", "-w", str(root))
    assert r.exit_code == 2 and "bogus" in r.stderr and s.requests == []


def test_a_scanner_type_without_a_plugin_is_invalid_configuration(cli, tmp_path):
    root = write_workspace(tmp_path / "ws", {"x": 'type = "qualys"\nurl = "https://127.0.0.1:1"'})
    r = cli("sync", "-w", str(root))
    assert r.exit_code == 2 and "qualys" in r.stderr


def test_a_failed_scanner_exits_1_and_the_others_are_synced(cli, tmp_path, mem_scanners):
    mem_scanners("mem-b")
    root = write_workspace(tmp_path / "ws", {"mem-a": MEM, "mem-b": MEM})  # mem-a: nobody listens
    r = cli("sync", "-w", str(root), "--json")
    assert r.exit_code == 1
    by = {s["scanner"]: s for s in json.loads(r.stdout)["scanners"]}
    assert by["mem-a"]["status"] == "failed" and by["mem-b"]["created"] == 4


def test_tls_verification_off_is_warned_about_on_every_run(cli, tmp_path, mem_scanners):
    mem_scanners("mem-a")
    root = write_workspace(tmp_path / "ws", {"mem-a": MEM + "\ntls = { verify = false }"})
    for _ in range(2):
        r = cli("sync", "-w", str(root), "--json")
        assert "TLS certificate verification is OFF" in r.stderr
        assert any("TLS" in w for w in json.loads(r.stdout)["warnings"])


def test_diff_shows_planned_changes_and_drift_apart(cli, ws):
    from . import memory

    r = cli("diff", "-w", str(ws))
    assert r.exit_code == 0 and "+ discovery" in r.stdout and "8 to create" in r.stderr
    cli("sync", "-w", str(ws))
    s = memory.SERVERS["mem-a"]
    rid = next(r for r, o in s.objects.items() if o["name"] == "discovery")
    s.edit(rid, ports="1-65535/tcp")
    r = cli("diff", "-w", str(ws))
    assert r.exit_code == 3
    assert "drift (changed on the scanner" in r.stdout and "! discovery" in r.stdout
    assert "live is less safe: adds ports" in r.stdout
    assert "1 drift to restore" in r.stderr
    doc = json.loads(cli("diff", "-w", str(ws), "--json").stdout)
    acts = {(s["scanner"], o["object"]): o for s in doc["scanners"] for o in s["objects"]}
    assert acts[("mem-a", "discovery")]["action"] == "drift" and acts[("mem-b", "discovery")]["action"] == "unchanged"
    assert s.objects[rid]["payload"]["ports"] == "1-65535/tcp"  # diff never writes


def test_history_shows_runs_pushes_and_drift(cli, ws):
    from . import memory

    cli("sync", "-w", str(ws))
    s = memory.SERVERS["mem-a"]
    s.edit(next(iter(s.objects)), ports="1-65535/tcp")
    cli("sync", "-w", str(ws))
    doc = json.loads(cli("history", "-w", str(ws), "--json").stdout)
    assert [r["status"] for r in doc["runs"]] == ["drift_restored", "ok"]
    assert len(doc["pushes"]) == 9 and doc["pushes"][0]["action"] == "restore"
    assert doc["drift"][0]["restored"] is True and doc["drift"][0]["scanner"] == "mem-a"
    human = cli("history", "-w", str(ws), "--scanner", "mem-a")
    assert human.exit_code == 0 and "restore" in human.stdout


def test_dry_run_writes_nothing(cli, ws):
    from . import memory

    r = cli("sync", "-w", str(ws), "--dry-run", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["dry_run"] is True
    assert memory.SERVERS["mem-a"].objects == {}


NESSUS_NO_KEYS = ('type = "nessus"\nurl = "https://127.0.0.1:1"\n'
                  'credentials = { access_key = "SG_TEST_UNSET_ACCESS", secret_key = "SG_TEST_UNSET_SECRET" }')


@pytest.fixture
def with_nessus(mem_plugins):
    """The memory vendor and the real Nessus plugin."""
    from scanguard_nessus import plugin as nessus_plugin

    mem_plugins.register(nessus_plugin, "nessus-vendor")
    return mem_plugins


def test_a_credential_variable_that_is_not_set_is_exit_2_and_the_other_scanners_are_synced(cli, tmp_path, mem_scanners,
                                                                                         with_nessus, monkeypatch):
    monkeypatch.delenv("SG_TEST_UNSET_ACCESS", raising=False)
    mem_scanners("mem-a")
    root = write_workspace(tmp_path / "ws", {"mem-a": MEM, "nessus-main": NESSUS_NO_KEYS})
    r = cli("sync", "-w", str(root), "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["status"] == "invalid" and doc["exit_code"] == 2
    by = {s["scanner"]: s for s in doc["scanners"]}
    assert by["mem-a"]["created"] == 4  # a scanner that cannot be reached never stops the others
    (err,) = by["nessus-main"]["errors"]
    assert err["invalid"] and "SG_TEST_UNSET_ACCESS" in err["message"]
    line = 1 + (root / "scanguard.toml").read_text().splitlines().index(NESSUS_NO_KEYS.splitlines()[-1])
    assert f"(scanguard.toml:{line} scanners.nessus-main.credentials.access_key)" in err["message"]
    r = cli("diff", "-w", str(root), "--json", "--scanner", "nessus-main")
    assert r.exit_code == 2 and json.loads(r.stdout)["status"] == "invalid"


def test_a_scanner_error_is_said_once_naming_the_scanner_once(cli, tmp_path, mem_scanners):
    mem_scanners("mem-b")
    root = write_workspace(tmp_path / "ws", {"mem-a": MEM, "mem-b": MEM})  # mem-a: nobody listens
    r = cli("sync", "-w", str(root))
    assert r.exit_code == 1
    assert "error scanner mem-a: connection refused" in r.stderr and "scanner mem-a: scanner mem-a" not in r.stderr
    r = cli("diff", "-w", str(root))
    assert r.exit_code == 1
    assert (r.stdout + r.stderr).count("connection refused") == 1
    assert "error scanner mem-a: connection refused" in r.stderr


def test_an_unknown_scanner_named_on_the_command_line_gets_a_did_you_mean(cli, ws):
    for command in ("sync", "diff"):
        r = cli(command, "-w", str(ws), "--scanner", "mema")
        assert r.exit_code == 2 and "unknown scanner 'mema' (did you mean 'mem-a'?)" in r.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scanner_says_refused_and_points_at_its_url_line(cli, tmp_path, with_nessus, monkeypatch):
    monkeypatch.setenv("SG_TEST_UNSET_ACCESS", "a" * 32)
    monkeypatch.setenv("SG_TEST_UNSET_SECRET", "s" * 32)
    port = _free_port()  # nobody listens there
    root = write_workspace(tmp_path / "ws", {"nessus-main": NESSUS_NO_KEYS.replace("127.0.0.1:1", f"127.0.0.1:{port}")})
    r = cli("diff", "-w", str(root), "--json")
    assert r.exit_code == 1
    (scanner,) = json.loads(r.stdout)["scanners"]
    line = 1 + (root / "scanguard.toml").read_text().splitlines().index(f'url = "https://127.0.0.1:{port}"')
    assert scanner["error"].endswith(f"cannot reach https://127.0.0.1:{port}: connection refused (nothing listens on "
                                     f"127.0.0.1:{port}) (scanguard.toml:{line} scanners.nessus-main.url)")


def test_a_certificate_that_does_not_verify_points_at_the_ca_bundle(cli, tmp_path, with_nessus, monkeypatch):
    from scanguard_testbed_scanners.nessus import FakeNessus

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with FakeNessus(tls=True) as fake:
        monkeypatch.setenv("SG_TEST_UNSET_ACCESS", fake.access_key)
        monkeypatch.setenv("SG_TEST_UNSET_SECRET", fake.secret_key)
        body = NESSUS_NO_KEYS.replace("https://127.0.0.1:1", fake.url)
        root = write_workspace(tmp_path / "ws", {"nessus-main": body})
        r = cli("sync", "-w", str(root), "--json")
    assert r.exit_code == 1
    (err,) = json.loads(r.stdout)["scanners"][0]["errors"]
    assert "did not verify (unable to get local issuer certificate): set tls.ca_bundle" in err["message"]
    table = 1 + (root / "scanguard.toml").read_text().splitlines().index("[scanners.nessus-main]")
    assert err["message"].endswith(f"(scanguard.toml:{table} scanners.nessus-main.tls.ca_bundle)")  # tls not written
    assert fake.requests == []  # nothing was sent to a scanner that could not be verified
