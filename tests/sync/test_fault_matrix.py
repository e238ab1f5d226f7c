"""The fault-injection matrix, against every vendor fake (scanguard_testbed_scanners): for every
API call position of a sync and each fault kind, the run reports the failure, the scanner holds nothing
less safe than before, and the next clean run converges with no duplicates.

The scenario at each position: the scanner holds the plan of workspace W1 (one restricted
device); the workspace becomes W2 (two more devices: planned updates and new group templates)
and someone edits a managed object in the console (drift). The sync of W2 then meets the fault.
Safety is judged on what the fake stores, read from its state (harness.stored), not through the
client the sync used.
"""

from __future__ import annotations

import os

import pytest

from scanguard import load_workspace
from scanguard.sync import RetryPolicy

from .backends import BACKENDS, available, ready, running
from .harness import LAB_PRINTER, duplicates, in_sync, less_safe_than_before, run_sync, snapshot, stored, write_workspace

RETRY = RetryPolicy(attempts=3, initial_wait_s=0.0, max_wait_s=0.0, deadline_s=30)
PARTS = {"gvm": 8, "nessus": 3, "tenableio": 4}
"""GMP makes over a hundred calls per sync of this scenario, Nessus some sixty (a policy is read
from three views, the editor 1.7 MB each time), Tenable VM the same as Nessus (the same policies
client) and one more for its exclusions: their positions are split into parts (every part-th
position) so that pytest-xdist spreads them over workers. The first part (every part-th position,
all fault kinds) runs in every test run; the other parts are marked slow and run with `make
test-all`. Security Center's calls are small and run whole; exclusion objects have their own
matrix (test_exclusion_objects.py)."""
CASES = [pytest.param(v, k, part, PARTS.get(v, 1), id=f"{v}-{k}" + (f"-part{part + 1}" if PARTS.get(v, 1) > 1 else ""),
                      marks=[pytest.mark.slow] if part > 0 else [])
         for v in available() for k in BACKENDS[v].faults for part in range(PARTS.get(v, 1))]


def _reset_to_w1(w1, w2, pm, fake, backend):
    """Bring the scanner to W1's plan, with none of W2's extra objects, and drift on one object."""
    s = run_sync(w1, pm, retry=RETRY)
    assert s.exit_code in (0, 3), s.scanners[0].errors
    cfg = w1.config.scanners["scn"]
    client = pm.vendor(cfg.type).client(cfg)
    wanted = {ct.name for ct in __import__("scanguard").compile_plan(w1, pm).for_scanner("scn")}
    for o in client.list_managed():
        if o.managed and o.name not in wanted:
            client.delete(o.remote_id)
    target = next(o for o in client.list_managed() if o.name == "full-audit@payment-terminals")
    backend.drift(fake, target.remote_id)


def _scenario(bodies, tmp_path):
    """(W1, W2): the scenario's workspaces, written under tmp_path."""
    w1 = load_workspace(write_workspace(tmp_path / "w1", bodies, templates=("full-audit",)))
    w2 = load_workspace(write_workspace(tmp_path / "w2", bodies, templates=("full-audit",),
                                        profiles=("pos-terminal", "infusion-rack"),
                                        extra_profiles={"lab-printer": LAB_PRINTER}))
    return w1, w2


def _reference(w1, w2, pm, fake, backend) -> list[str]:
    """The commands (or requests) a sync of this scenario makes without faults, in order: the
    positions faults are injected at."""
    _reset_to_w1(w1, w2, pm, fake, backend)
    start = len(fake.requests)
    ref = run_sync(w2, pm, retry=RETRY)
    calls = [r[0] for r in fake.requests[start:]]
    assert ref.exit_code == 3 and len(calls) >= 6, (ref.exit_code, len(calls))
    assert {o.action for o in ref.scanners[0].objects} >= {"create", "update", "drift"}
    return calls


def _fault_at(w1, w2, pm, fake, backend, n, kind, positions, retry=RETRY):
    """The sync of W2 meets `kind` at position n (from W1 with drift), then a clean sync runs:
    (what went wrong, the faulty run's result); nothing went wrong when it failed safe, reported
    the failure and the clean run converged."""
    _reset_to_w1(w1, w2, pm, fake, backend)
    before = stored(backend, fake)
    backend.inject(fake, n, kind)
    faulty = run_sync(w2, pm, retry=retry).scanners[0]
    after = stored(backend, fake)
    where = f"position {n}/{positions} ({kind})"
    failures = []
    if not (faulty.errors or faulty.retries):
        failures.append(f"{where}: the failure was not reported")
    if kind == "500" and faulty.status != "failed":
        failures.append(f"{where}: a 500 did not fail the scanner")
    worse = less_safe_than_before(w2, pm, "scn", before, after)
    if worse:
        failures.append(f"{where}: less safe than before: {worse}")
    seen = snapshot(w2, pm, "scn")
    if duplicates(seen):
        failures.append(f"{where}: duplicates {duplicates(seen)}")
    clean = run_sync(w2, pm, retry=RETRY)
    if clean.exit_code not in (0, 3):
        failures.append(f"{where}: the clean run after failed: {clean.scanners[0].errors}")
    # exactly the plan, markers included: the run after this one writes nothing
    problems = in_sync(w2, pm, "scn", stored(backend, fake))
    if problems:
        failures.append(f"{where}: not converged: {problems}")
    return failures, faulty


def _only() -> set[int]:
    """Positions named in SCANGUARD_FAULT_AT ("131" or "129,131"): the matrix runs only those
    (of each part), to follow one position while debugging; unset, every position runs."""
    text = os.environ.get("SCANGUARD_FAULT_AT", "")
    return {int(x) for x in text.replace(",", " ").split()}


@pytest.mark.parametrize("vendor,kind,part,parts", CASES)
def test_every_call_position_fails_safe_and_converges(vendor, kind, part, parts, tmp_path):
    backend = BACKENDS[vendor]
    pm = backend.plugins()
    why = backend.missing_client(pm)
    if why:
        pytest.skip(f"{vendor}: {why}")
    # plain HTTP where the vendor allows it: TLS is covered by the acceptance tests, and a handshake per
    # client would triple the matrix's time
    with running(backend, tls=False) as (fakes, bodies, _env):
        fake = fakes[0]
        w1, w2 = _scenario(bodies, tmp_path)
        # the reference run, without faults, says how many calls a sync of this scenario makes
        positions = len(_reference(w1, w2, pm, fake, backend))
        only = _only()
        failures = []
        for n in range(1 + part, positions + 1, parts):
            if not only or n in only:
                failures += _fault_at(w1, w2, pm, fake, backend, n, kind, positions)[0]
        assert not failures, "\n".join(failures)


NO_RETRY = RetryPolicy(attempts=1, initial_wait_s=0.0, max_wait_s=0.0, deadline_s=30)


@pytest.mark.parametrize("kind,retry", [("reset", RETRY), ("reset", NO_RETRY), ("timeout", NO_RETRY)],
                         ids=["reset-retried", "reset-not-retried", "timeout-not-retried"])
def test_gvm_a_connection_lost_while_naming_the_repointed_task_fails_safe_and_converges(kind, retry, tmp_path):
    """The position of the matrix where GVM's connection is lost once a task was repointed to
    a new version and read back, at the command naming it (a reset: not carried out; a timeout:
    carried out, the answer lost); the old version, edited in the console, is still stored. Retried,
    the faulty run itself retires it; not retried, the next sync does."""
    backend, pm = ready("gvm")
    with running(backend, tls=False) as (fakes, bodies, _env):
        fake = fakes[0]
        w1, w2 = _scenario(bodies, tmp_path)
        calls = _reference(w1, w2, pm, fake, backend)
        # modify_task (the repoint), get_tasks (read back), modify_task (the naming)
        n = next(i + 3 for i in range(len(calls) - 2)
                 if calls[i:i + 3] == ["modify_task", "get_tasks", "modify_task"])
        failures, faulty = _fault_at(w1, w2, pm, fake, backend, n, kind, len(calls), retry=retry)
        assert not failures, "\n".join(failures)
        if retry is RETRY:  # the retry, in a new session, finished the push: the drift is restored
            assert faulty.status == "drift_restored" and faulty.retries, (faulty.status, faulty.errors)
