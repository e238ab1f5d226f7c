"""Precision and recall of the advisory extractor (scanguard.kb.extract) on the labelled sample
(tests/kb/data/advisory_labels.yaml), per split: "tune" is the half the rules were developed on,
"heldout" the half only measured. Side by side: a naive baseline that takes every port any
sentence of the advisory names, and calls every advisory with an availability word a crash.

    .venv/bin/python benchmarks/bench_kb_extraction.py [--misses]

Needs ../shared/fixtures/advisories/csaf.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from scanguard.kb.csaf import iter_advisories, read_document  # noqa: E402
from scanguard.kb.evaluate import Scores, load_labels, score  # noqa: E402
from scanguard.kb.extract import is_effect, ports_in, sentences  # noqa: E402
from scanguard.kb.model import Advisory, Finding, PortMention  # noqa: E402

CSAF = REPO.parent / "shared" / "fixtures" / "advisories" / "csaf"
LABELS = REPO / "tests" / "kb" / "data" / "advisory_labels.yaml"


def naive(path: Path, a: Advisory) -> Advisory:
    """The baseline: any availability word makes a crash, every port any sentence names counts."""
    doc, _ = read_document(path)
    texts = [n.get("text", "") for v in doc.get("vulnerabilities", []) for n in v.get("notes", [])]
    texts += [r.get("details", "") for v in doc.get("vulnerabilities", []) for r in v.get("remediations", [])]
    sents = [s for t in texts for s in sentences(t)]
    if not any(is_effect(s) for s in sents):
        return a.model_copy(update={"findings": ()})
    ports = [PortMention(ports=p, source="text", sentence=s) for s in sents if (p := ports_in(s))]
    return a.model_copy(update={"findings": (Finding(effect="", ports=tuple(ports)),)})


def line(name: str, s: Scores) -> str:
    return (f"  {name:22} crash {s.crash.text():38} ports {s.ports.text():38}\n"
            f"  {'':22} ports stated only {s.ports_stated.text():27} triggers {s.triggers.text():35} "
            f"discovery {s.discovery.text()}")


def main() -> int:
    if not CSAF.is_dir():
        print(f"fixtures not found at {CSAF}", file=sys.stderr)
        return 1
    labels = load_labels(LABELS)
    pairs = [(p, a) for p, a in iter_advisories([CSAF]) if isinstance(a, Advisory)]
    for split in ("tune", "heldout"):
        labs = [lab for lab in labels if lab.split == split]
        ours = score([a for _, a in pairs], labs)
        base = score([naive(p, a) for p, a in pairs], labs)
        print(f"{split}: {ours.advisories} labelled advisories")
        print(line("scanguard", ours))
        print(line("naive baseline", base))
        print(f"  port precision ratio scanguard/baseline: {ours.ports.precision / max(base.ports.precision, 1e-9):.2f}")
        if "--misses" in sys.argv:
            for m in ours.misses:
                print(f"    {m.id} {m.measure}: extra {list(m.extra)} missing {list(m.missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
