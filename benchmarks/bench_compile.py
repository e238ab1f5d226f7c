"""Compile and render 20,000 generated profiles x 3 base templates, against the floor:
plain pydantic validation of the same profiles. Both are measured side by side in one run,
best of several rounds (this machine is noisy), and the ratio is printed.

    .venv/bin/python benchmarks/bench_compile.py [--profiles 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from scanguard import compile_plan  # noqa: E402
from scanguard.model import DeviceProfile, WorkspaceConfig  # noqa: E402
from scanguard.plugin.manager import load_plugins  # noqa: E402
from scanguard.render import render_plan  # noqa: E402
from scanguard.workspace import Workspace, load_workspace  # noqa: E402

from workspaces import generate  # noqa: E402  (benchmarks/workspaces.py: the shared generator)

def floor(docs: list[dict], keep: bool = True) -> float:
    """Validate every profile with pydantic. `keep` holds on to the results, as any real use must
    (and as the full path does); without it each result is dropped at once, which spares the
    garbage collector a growing heap and is shown only for reference."""
    t0 = time.perf_counter()
    if keep:
        kept = [DeviceProfile.model_validate(d) for d in docs]
    else:
        for d in docs:
            DeviceProfile.model_validate(d)
    took = time.perf_counter() - t0
    if keep:
        del kept
    return took


def full(docs: list[dict], base: Workspace, vendors) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    profiles = tuple(DeviceProfile.model_validate(d) for d in docs)
    ws = base.model_copy(update={"profiles": profiles})
    plan = compile_plan(ws)
    rendered = len(render_plan(plan, {v.name: v for v in vendors}))
    return time.perf_counter() - t0, len(plan.templates), rendered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profiles", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    docs = generate(args.profiles)
    example = load_workspace(REPO / "examples" / "hospital")
    base = Workspace(root=example.root, config=WorkspaceConfig.model_validate({
        "workspace": {"templates": ["discovery", "full-audit", "fragile-safe"]},
        "scanners": {"nmap-local": {"type": "nmap"}},
    }), templates=example.templates)
    pm = load_plugins()
    vendors = [pm.vendor("nmap")]
    floors, drops, fulls = [], [], []
    for _ in range(args.rounds):
        gc.collect()
        floors.append(floor(docs))
        gc.collect()
        drops.append(floor(docs, keep=False))
        gc.collect()
        t, n_templates, n_rendered = full(docs, base, vendors)
        fulls.append(t)
    f, d, c = min(floors), min(drops), min(fulls)
    print(f"profiles: {args.profiles}  base templates: 3  compiled templates: {n_templates}  "
          f"renderings (verified): {n_rendered} ({', '.join(v.name for v in vendors)})")
    print(f"floor: pydantic validation of the profiles, results kept: {f:.3f} s")
    print(f"       (for reference, each result dropped at once: {d:.3f} s)")
    print(f"scanguard (validate + compile + render + verify): {c:.3f} s")
    print(f"ratio to floor: {c / f:.2f}x  (target: within 3x); to the dropped-results pass: {c / d:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
