"""Benchmark of `scanguard sync`: 50 fake scanners (mixed vendors) x 10 templates, 100 ms of
injected latency per request.

Prints the wall time of a first sync and of a steady-state sync, each done concurrently (one
worker per scanner) and one scanner after another (--parallel 1), the ratio between them, and
the writes a steady-state sync makes (it must make none).

    .venv/bin/python benchmarks/bench_sync.py [--scanners 50] [--latency 0.1] [--vendors nessus,insightvm]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scanguard import load_workspace  # noqa: E402
from scanguard.plugin.manager import load_plugins  # noqa: E402
from scanguard.sync import RetryPolicy, StateDB, SyncEngine, SyncOptions  # noqa: E402

from tests.sync.backends import BACKENDS, available  # noqa: E402
from tests.sync.harness import write_workspace  # noqa: E402

BASES = ("discovery", "full-audit")
"""The shipped bases every vendor takes (fragile-safe asks for a packet rate and a delay between
probes, which Tenable refuses); three copies of full-audit make five."""
EXTRA = ("bench-a", "bench-b", "bench-c")


def _extra_templates(root: Path) -> None:
    # three more base templates, so that 5 bases x (general + one restricted group) = 10 per scanner
    src = (REPO / "templates" / "full-audit.yaml").read_text(encoding="utf-8")
    (root / "templates").mkdir(exist_ok=True)
    for name in EXTRA:
        (root / "templates" / f"{name}.yaml").write_text(src.replace("name: full-audit", f"name: {name}"),
                                                         encoding="utf-8")


def _vendors(wanted: list[str]) -> list[str]:
    present = [v for v in available() if v in wanted]
    os.environ["SCANGUARD_LOAD_PLUGINS"] = ",".join(BACKENDS[v].distribution for v in present)
    pm = load_plugins()
    usable = [v for v in present if BACKENDS[v].missing_client(pm) is None and v in pm.vendors()]
    os.environ["SCANGUARD_LOAD_PLUGINS"] = ",".join(BACKENDS[v].distribution for v in usable)
    return usable


def _sync(ws, pm, workers: int | None) -> tuple[float, int, int]:
    """(seconds, engine writes, failed scanners)."""
    with StateDB(ws.state_path()) as state:
        engine = SyncEngine(ws, pm, state=state, options=SyncOptions(
            max_workers=workers, retry=RetryPolicy(deadline_s=900)))
        t0 = time.perf_counter()
        summary = engine.run()
        dt = time.perf_counter() - t0
    failed = [s for s in summary.scanners if s.status == "failed"]
    for s in failed:
        print(f"  scanner {s.scanner} failed: {[e.message for e in s.errors][:2]}", file=sys.stderr)
    return dt, summary.totals()["writes"], len(failed)


def _fake_writes(fakes) -> int:
    n = 0
    for f in fakes:
        for r in list(f.requests):
            op = str(r[0])
            n += op in ("POST", "PUT", "DELETE") or (not op.isupper() and not op.startswith(("get_", "authenticate")))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scanners", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--vendors", default="nessus,insightvm",
                    help="Comma-separated vendor fakes to mix (default: the HTTP ones; gvm makes tens of GMP "
                         "calls per template, so its one-after-another baseline alone takes many minutes).")
    args = ap.parse_args()
    vendors = _vendors([v.strip() for v in args.vendors.split(",") if v.strip()])
    if not vendors:
        sys.exit("no vendor fake with a working client is available")
    pm = load_plugins()
    names = [f"s{i:02d}-{vendors[i % len(vendors)]}" for i in range(args.scanners)]
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        sets = {}
        for label in ("concurrent", "sequential"):
            fakes, bodies = [], {}
            for n in names:
                b = BACKENDS[n.split("-", 1)[1]]
                fake = b.start(True)
                stack.enter_context(fake)
                fake.latency = args.latency
                body, env = b.entry(fake, f"{label}-{n}")
                os.environ.update(env)
                fakes.append(fake)
                bodies[n] = body.replace(f"timeout_s = ", "timeout_s = 30 #")
            root = write_workspace(Path(tmp) / label, bodies, templates=BASES + EXTRA)
            _extra_templates(root)
            sets[label] = (load_workspace(root), fakes)
        ws, _ = sets["concurrent"]
        per = len(__import__("scanguard").compile_plan(ws, pm).for_scanner(names[0]))
        print(f"{args.scanners} fake scanners ({', '.join(f'{sum(n.endswith(v) for n in names)} {v}' for v in vendors)}), "
              f"{per} templates each, {args.latency * 1000:.0f} ms latency per request", flush=True)

        results = {}
        for label, workers in (("concurrent", None), ("sequential", 1)):
            ws, fakes = sets[label]
            first = _sync(ws, pm, workers)
            before = _fake_writes(fakes)
            steady = _sync(ws, pm, workers)
            steady_fake_writes = _fake_writes(fakes) - before
            results[label] = (first, steady, steady_fake_writes)
            print(f"{label:>10}: first sync {first[0]:7.2f} s ({first[1]} writes, {first[2]} failed), "
                  f"steady-state sync {steady[0]:6.2f} s ({steady[1]} writes by the engine, "
                  f"{steady_fake_writes} write requests seen by the scanners, {steady[2]} failed)", flush=True)
        (c1, c2, cw), (s1, s2, sw) = results["concurrent"], results["sequential"]
        print(f"speed-up of concurrency: first sync x{s1[0] / c1[0]:.1f}, steady state x{s2[0] / c2[0]:.1f}")
        print(f"steady-state writes: {c2[1] + s2[1]} (engine), {cw + sw} (scanners) -- must be 0")
        if c2[1] + s2[1] + cw + sw:
            sys.exit(1)


if __name__ == "__main__":
    main()
