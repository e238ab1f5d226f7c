"""`scanguard check` at scale, everything measured side by side in one run:

1. the check itself: 1,000,000 addresses in 10,000 ranges against 20,000 profiles, scanguard's
   pre-scan check (every plugin's checks, the core's among them) beside a naive loop that
   compares every profile with every range; both must find the same devices;
2. the command line on the generated 20,000-profile workspace (benchmarks/workspaces.py):
   `check --targets 10.0.0.0/8` with a warm and a cold load cache, `validate` cold (also with the
   files read in one process, SCANGUARD_PARSE_WORKERS=1, for the ratio; a warm load never forks
   workers), and how much of `render` and `diff` (against a fake InsightVM console on loopback,
   already synced) is loading.

Wall seconds are the best of --rounds; CPU seconds (user + system of the command) are printed
beside them because this machine is shared: wall time counts other people's work too.

    .venv/bin/python benchmarks/bench_check.py [--profiles 20000] [--ranges 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scanguard.check import check_scan  # noqa: E402
from scanguard.model.addresses import AddressSet  # noqa: E402
from scanguard.model.events import CheckRequest  # noqa: E402
from scanguard.model.intervals import IntervalSet  # noqa: E402
from scanguard.plugin.manager import load_plugins  # noqa: E402
from scanguard.workspace import load_workspace  # noqa: E402

from workspaces import write_workspace  # noqa: E402

DATA = REPO / "benchmarks" / "_data"
SCANGUARD = [sys.executable, "-m", "scanguard"]
RANGE_SIZE = 100
FIRST = 10 << 24  # 10.0.0.0


def _targets(ranges: int) -> AddressSet:
    """`ranges` disjoint ranges of 100 addresses spread evenly over 10.0.0.0/8: most meet no
    device, the few in the profiled low end meet about a hundred each."""
    step = (1 << 24) // ranges
    return AddressSet(IntervalSet([(FIRST + k * step, FIRST + k * step + RANGE_SIZE - 1) for k in range(ranges)]))


def _naive(profiles, ranges: list[tuple[int, int]]) -> set[str]:
    """Every profile's every interval against every range, in plain Python."""
    hit = set()
    for p in profiles:
        for lo, hi in p.addresses().v4.intervals:
            for rlo, rhi in ranges:
                if rlo <= hi and lo <= rhi:
                    hit.add(p.id)
                    break
    return hit


def _timed(fn, rounds: int):
    """(result, seconds of the first call, best seconds of the later ones)."""
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    best = first
    for _ in range(rounds - 1):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return result, first, best


def bench_core(root: Path, ranges: int, rounds: int) -> None:
    ws = load_workspace(root)
    gc.freeze()  # as the command line does after loading (scanguard.cli.common.workspace)
    pm = load_plugins()
    targets = _targets(ranges)
    assert targets.size() == ranges * RANGE_SIZE
    when = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
    plain = CheckRequest(scanner=None, template_name=None, template=None, targets=targets, when=when)
    templated = plain.model_copy(update={"template": ws.template("full-audit"), "template_name": "full-audit"})
    verdict, first, best = _timed(lambda: check_scan(plain, ws, pm), rounds)
    with_template, _, best_tpl = _timed(lambda: check_scan(templated, ws, pm), rounds)
    t0 = time.perf_counter()
    naive = _naive(ws.profiles, list(targets.v4.intervals))
    slow = time.perf_counter() - t0
    found = {r.device for r in verdict.results if r.device}
    assert found == naive == {r.device for r in with_template.results if r.device}, (
        f"scanguard found {len(found)} devices, the naive loop {len(naive)}")
    print(f"check: {targets.size():,} addresses in {ranges:,} ranges against {len(ws.profiles):,} profiles "
          f"({len(found):,} devices reached)")
    print(f"  naive loop, every profile against every range:  {slow:7.3f} s")
    print(f"  scanguard check_scan, targets only:               {best:7.3f} s  ratio {slow / best:5.0f}x   "
          f"({len(verdict.results):,} results; first call, index built: {first:.3f} s, ratio {slow / first:.0f}x)")
    print(f"  scanguard check_scan, template full-audit:        {best_tpl:7.3f} s  ratio {slow / best_tpl:5.0f}x   "
          f"({len(with_template.results):,} results: every reached device's constraints checked too)")
    print("  goal: under 1 s, at least 100x")


def _command_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured command: as given, but with Python's bytecode cache on. An
    installed scanguard has its modules compiled (pip does it at install); with
    PYTHONDONTWRITEBYTECODE set (some CI machines set it) an editable checkout would compile every
    module from source on every run, a quarter of a second that is no part of scanguard's work."""
    out = dict(os.environ if env is None else env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one command; its output is discarded, its failure is not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(SCANGUARD + args, cwd=cwd, env=_command_env(env), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):  # 3: check's no-go, the expected answer for a /8 full of devices
        raise SystemExit(f"scanguard {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _best(runs: list[tuple[float, float]]) -> str:
    wall, cpu = min(runs)
    return f"{wall:6.2f} s wall  {cpu:6.2f} s cpu"


def _cold(root: Path) -> None:
    shutil.rmtree(root / ".scanguard" / "cache", ignore_errors=True)


def _load_share(root: Path, work, rounds: int) -> tuple[float, float]:
    """(load seconds, command seconds) in this process, best of rounds: the warm load, and the
    command's own work after it."""
    loads, works = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ws = load_workspace(root)
        t1 = time.perf_counter()
        work(ws)
        loads.append(t1 - t0)
        works.append(time.perf_counter() - t1)
    return min(loads), min(works)


@contextlib.contextmanager
def _synced_scanner(root: Path):
    """The workspace with a fake InsightVM console (loopback) as a second scanner, synced once (InsightVM
    keeps the generated profiles' packet rates, which Tenable scanners refuse),
    and the environment that reaches it."""
    from tests.sync.backends import BACKENDS

    backend = BACKENDS["insightvm"]
    toml = root / "scanguard.toml"
    original = toml.read_text(encoding="utf-8")
    with backend.start(False) as fake:
        body, env_vars = backend.entry(fake, "insightvm-bench")
        body = body.replace("timeout_s = 0.4", "timeout_s = 60")
        toml.write_text(original + f"\n[scanners.insightvm-bench]\n{body}\n", encoding="utf-8")
        env = {**os.environ, **env_vars}
        try:
            _run(["sync", "--scanner", "insightvm-bench"], root, env)
            yield env
        finally:
            toml.write_text(original, encoding="utf-8")


def bench_cli(root: Path, rounds: int) -> None:
    from scanguard.compile import compile_plan
    from scanguard.render import render_plan

    pm = load_plugins()
    check = ["check", "--targets", "10.0.0.0/8", "--json"]
    _run(["validate"], root)  # warms the cache (and writes the bytecode of a checkout that has none yet)
    warm = [_run(check, root) for _ in range(rounds)]
    one = {**os.environ, "SCANGUARD_PARSE_WORKERS": "1"}  # the load without worker processes, for the ratio
    cold, validate, validate_one = [], [], []
    for _ in range(rounds):
        _cold(root)
        cold.append(_run(check, root))
        _cold(root)
        validate.append(_run(["validate"], root))
        _cold(root)
        validate_one.append(_run(["validate"], root, one))
    text = [_run(check[:-1], root) for _ in range(rounds)]
    templated = _run([*check, "--template", "full-audit"], root)
    render = [_run(["render", "--json"], root) for _ in range(rounds)]

    def render_configured(ws):
        # as `scanguard render` does: the vendors of the configured scanners
        vendors = {s.type: pm.vendors()[s.type] for s in ws.config.scanners.values()}
        return render_plan(compile_plan(ws, pm), vendors)

    load_s, render_s = _load_share(root, render_configured, rounds)
    print(f"command line on {root.relative_to(REPO)} ({os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}), best of {rounds}, modules' bytecode cached as in an install:")
    print(f"  check --targets 10.0.0.0/8, warm cache:  {_best(warm)}   (goal: under 2 s)")
    print(f"  check --targets 10.0.0.0/8, cold cache:  {_best(cold)}   (goal: under 6 s)")
    print(f"  validate, cold cache:                    {_best(validate)}   (goal: under 6 s)")
    print(f"    the same in one process:               {_best(validate_one)}   "
          f"(workers: {min(validate_one)[0] / min(validate)[0]:.2f}x faster)")
    print(f"  check, warm cache, text on stderr:       {_best(text)}")
    print(f"  check --template full-audit, warm, once: {_best([templated])}   (compiles the whole plan)")
    print(f"  render --json:                           {_best(render)}")
    print(f"    in process: warm load {load_s:.2f} s, compile + render + verify {render_s:.2f} s: "
          f"loading is {load_s / (load_s + render_s):.0%}")
    try:
        from scanguard.sync import SyncEngine, SyncOptions

        with _synced_scanner(root) as env:
            diff = [_run(["diff", "--scanner", "insightvm-bench"], root, env) for _ in range(rounds)]
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                load_s, diff_s = _load_share(root, lambda ws: SyncEngine(
                    ws, pm, options=SyncOptions(scanners=("insightvm-bench",), dry_run=True, command="diff")).diff(),
                    rounds)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        print(f"  diff --scanner insightvm-bench (synced):    {_best(diff)}")
        print(f"    in process: warm load {load_s:.2f} s, diff {diff_s:.2f} s: loading is "
              f"{load_s / (load_s + diff_s):.0%}")
    except ImportError as e:  # the fakes live in tests/, absent from an installed copy
        print(f"  diff: not measured ({e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", type=int, default=20000)
    ap.add_argument("--ranges", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    root = write_workspace(DATA / f"check-{args.profiles}", args.profiles)
    print(f"workspace: {args.profiles:,} generated profiles ({time.perf_counter() - t0:.1f} s to generate or reuse)")
    bench_core(root, args.ranges, args.rounds)
    bench_cli(root, args.rounds)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
