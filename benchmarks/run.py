"""Run every benchmark in this folder (bench_*.py), one after another, each in its own process.

    .venv/bin/python benchmarks/run.py [NAME ...]     # e.g. compile sync

Each benchmark measures scanguard and its reference side by side in the same run and prints the
ratio, because these machines are noisy: compare ratios, not seconds across runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    wanted = set(sys.argv[1:])
    scripts = sorted(HERE.glob("bench_*.py"))
    failed = 0
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"\n=== {name} ({script.name}) ===", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc != 0:
            print(f"benchmark {name} failed with exit code {rc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
