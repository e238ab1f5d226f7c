"""Secrets never leak: a sync, a drift restore, faults and a refused credential, run through the
command line with logging at DEBUG, leave no trace of any credential in stdout, stderr, the logs,
the state database or any exception."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from scanguard.cli import common
from scanguard.cli.app import app

from .backends import BACKENDS, available, running
from .harness import snapshot, write_workspace
from scanguard import load_workspace


@pytest.mark.parametrize("vendor", available())
def test_no_credential_appears_in_output_logs_state_or_exceptions(vendor, tmp_path, caplog, monkeypatch):
    b = BACKENDS[vendor]
    pm = b.plugins()
    why = b.missing_client(pm)
    if why:
        pytest.skip(f"{vendor}: {why}")
    caplog.set_level(logging.DEBUG)
    common.reset_plugins(pm)
    runner = CliRunner()
    try:
        with running(b) as (fakes, bodies, env):
            secrets = [v for v in env.values() if len(v) >= 8]
            assert secrets
            # a second entry for the same scanner, whose credential the scanner refuses
            bad_secret = "SGLEAKCHECK-" + "9f3a" * 8
            bad_body = bodies["scn"]
            for name, value in env.items():
                bad_env = name.replace("SGTEST_SCN_", "SGTEST_BAD_")
                bad_body = bad_body.replace(name, bad_env)
                monkeypatch.setenv(bad_env, bad_secret if "KEY" in name.split("_")[-1] or
                                   "PASSWORD" in name else value)
            secrets.append(bad_secret)
            root = write_workspace(tmp_path / "ws", {"scn": bodies["scn"], "bad": bad_body})
            results = []
            results.append(runner.invoke(app, ["sync", "-w", str(root), "--json", "-vv"]))
            ws = load_workspace(root)
            target = snapshot(ws, pm, "scn")["full-audit@payment-terminals"][0]
            b.drift(fakes[0], target.remote_id)
            fakes[0].fail_next("500")
            results.append(runner.invoke(app, ["sync", "-w", str(root), "-vv"]))
            fakes[0].fail_next("timeout")
            results.append(runner.invoke(app, ["sync", "-w", str(root), "--json", "-vv"]))
            results.append(runner.invoke(app, ["diff", "-w", str(root), "--json", "-vv"]))
            results.append(runner.invoke(app, ["diff", "-w", str(root)]))
            results.append(runner.invoke(app, ["history", "-w", str(root), "--json"]))
            results.append(runner.invoke(app, ["history", "-w", str(root)]))
    finally:
        common.reset_plugins(None)
    codes = [r.exit_code for r in results]
    assert codes[0] == 1 and "bad" in results[0].stdout  # the refused credential is reported (without it)
    texts = []
    for r in results:
        texts += [r.stdout, r.stderr]
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            texts += [str(r.exception), repr(r.exception)]
    texts.append(caplog.text)
    texts += [repr(rec.args) for rec in caplog.records]
    blob = "\n".join(texts)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "ws").glob("state.db*"))
    assert stored, "the state database was written"
    for secret in secrets:
        assert secret not in blob
        assert secret.encode() not in stored
