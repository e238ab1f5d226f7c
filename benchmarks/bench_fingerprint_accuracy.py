"""Precision and recall of `scanguard find-misplaced` on the labelled set.

    .venv/bin/python benchmarks/bench_fingerprint_accuracy.py

The set (tests/misplaced/labelled.py) holds devices that truly are profiled devices of the
example hospital, found outside their locations, and look-alikes that must not be taken for
them; each is written in every vendor's export shape and planted into a copy of that vendor's
real export (../shared/fixtures/results), whose own hosts count as negatives too. Counted over
(host, profile) pairs; the devices missed and the hosts wrongly reported are listed by label.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.misplaced.labelled import Counts, measure  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures"


def main() -> int:
    if not (FIXTURES / "results").is_dir():
        print(f"no fixtures at {FIXTURES}: clone with ../shared beside the checkout", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(FIXTURES, REPO / "examples" / "hospital", Path(tmp))
    print(f"{'vendor':<11}{'TP':>5}{'FP':>5}{'FN':>5}{'neg':>6}{'precision':>11}{'recall':>8}")
    total = Counts()
    for r in results:
        c = r.counts
        total = total + c
        print(f"{r.vendor:<11}{c.tp:>5}{c.fp:>5}{c.fn:>5}{c.negatives:>6}{c.precision:>11.2f}{c.recall:>8.2f}")
    print(f"{'all':<11}{total.tp:>5}{total.fp:>5}{total.fn:>5}{total.negatives:>6}{total.precision:>11.2f}"
          f"{total.recall:>8.2f}")
    for r in results:
        for m in r.missed:
            print(f"  missed in {r.vendor}: {m}")
        for w in r.wrong:
            print(f"  wrongly reported in {r.vendor}: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
