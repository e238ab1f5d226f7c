"""A sync killed with SIGKILL at any point converges on the next run: no duplicates, nothing less
safe than before, and the killed run is on record as interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanguard import load_workspace
from scanguard.sync import StateDB

from .backends import BACKENDS, available, running
from .harness import LAB_PRINTER, duplicates, in_sync, less_safe_than_before, run_sync, snapshot, stored, write_workspace

SCANGUARD = Path(sys.executable).with_name("scanguard")


def _writes(fake) -> int:
    return len(fake.writes())


@pytest.mark.parametrize("kill_after_writes", [1, 3])
@pytest.mark.parametrize("vendor", [v for v in available() if v != "gvm"])  # HTTP fakes: writes are countable
def test_a_sync_killed_mid_run_converges_on_the_next(vendor, kill_after_writes, tmp_path):
    b = BACKENDS[vendor]
    pm = b.plugins()
    why = b.missing_client(pm)
    if why:
        pytest.skip(f"{vendor}: {why}")
    with running(b) as (fakes, bodies, env):
        fake = fakes[0]
        w1 = load_workspace(write_workspace(tmp_path / "w1", bodies, templates=("full-audit",), state="../state.db"))
        run_sync(w1, pm)
        target = snapshot(w1, pm, "scn")["full-audit@payment-terminals"][0]
        b.drift(fake, target.remote_id)
        root2 = write_workspace(tmp_path / "w2", bodies, templates=("full-audit",), state="../state.db",
                                profiles=("pos-terminal", "infusion-rack"), extra_profiles={"lab-printer": LAB_PRINTER})
        w2 = load_workspace(root2)
        before = stored(b, fake)
        fake.latency = 0.15  # slow enough to land the kill mid-run
        start = _writes(fake)
        proc = subprocess.Popen(
            [str(SCANGUARD), "sync", "-w", str(root2), "--json"],
            env={**os.environ, **env, "SCANGUARD_LOAD_PLUGINS": b.distribution, "NO_COLOR": "1"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _writes(fake) - start < kill_after_writes and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the sync finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        fake.latency = 0.0
        time.sleep(0.2)  # let the fake finish the request the killed process had in flight
        assert less_safe_than_before(w2, pm, "scn", before, stored(b, fake)) == []
        assert duplicates(snapshot(w2, pm, "scn")) == []

        again = run_sync(w2, pm)
        assert again.exit_code in (0, 3), again.scanners[0].errors
        assert in_sync(w2, pm, "scn", stored(b, fake)) == []
        assert run_sync(w2, pm).scanners[0].writes == 0
        with StateDB(w2.state_path()) as db:
            statuses = [r.status for r in db.runs()]
        assert "interrupted" in statuses
