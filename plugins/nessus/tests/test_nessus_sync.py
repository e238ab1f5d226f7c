"""A whole sync against the fake Nessus (recorded real shapes): what Nessus cannot keep stays off it,
loudly."""

from __future__ import annotations

import shutil

from scanguard import load_workspace
from scanguard.plugin.manager import load_plugins
from scanguard.sync import RetryPolicy, StateDB, SyncEngine, SyncOptions
from scanguard_testbed_scanners.nessus import FakeNessus


def test_a_group_that_needs_a_packet_rate_is_refused_and_never_pushed(tmp_path, monkeypatch, example_workspace):
    with FakeNessus(tls=True) as fake:
        monkeypatch.setenv("NK_A", fake.access_key)
        monkeypatch.setenv("NK_S", fake.secret_key)
        root = tmp_path / "ws"
        (root / "profiles").mkdir(parents=True)
        shutil.copy(example_workspace / "profiles" / "pos-terminal.yaml", root / "profiles")  # 100 packets/s
        (root / "scanguard.toml").write_text(
            '[workspace]\nstate = "state.db"\ntemplates = ["full-audit"]\n\n[scanners.nessus-main]\ntype = "nessus"\n'
            f'url = "{fake.url}"\ncredentials = {{ access_key = "NK_A", secret_key = "NK_S" }}\n'
            f'tls = {{ ca_bundle = "{fake.ca_bundle}" }}\n', encoding="utf-8")
        ws = load_workspace(root)
        with StateDB(ws.state_path()) as state:
            summary = SyncEngine(ws, load_plugins(), state=state, options=SyncOptions(
                retry=RetryPolicy(attempts=2, initial_wait_s=0, max_wait_s=0))).run()
        result = summary.scanners[0]
        assert summary.exit_code == 3 and result.status == "refused"  # a safety finding, not a scanner failure
        assert any(e.object == "full-audit@payment-terminals" and "no packet rate: 100 packets/s" in e.message
                   and "pos-terminal" in e.message for e in result.errors)
        names = {p["settings"]["name"] for p in fake.policies.values()}
        assert names == {"full-audit"} and result.created == 1
