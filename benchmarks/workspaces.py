"""Large generated workspaces for the benchmarks, so that anyone can reproduce their figures:
`generate` gives the profile documents (as YAML would load them), `write_workspace` writes them
out as a workspace folder (scanguard.toml and one profiles/*.yaml per device).

    .venv/bin/python benchmarks/workspaces.py OUT_DIR [--profiles 20000] [--seed 7]

Devices sit on single hosts from 10.0.0.1 upwards (250 per /24), all inside 10.0.0.0/8: about
65% scan, 30% restricted (in 40 groups), 5% never-scan; 2% have scope `everywhere`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import yaml

GROUPS = [f"model-{i:02d}" for i in range(40)]
CATS = ["dos", "brute-force", "exploit", "intrusive", "fuzzing", "web-crawl"]


def generate(n: int, seed: int = 7) -> list[dict]:
    """n profile documents as they come out of YAML: varied policies, locations and constraints."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        a, b = divmod(i, 250)
        policy = rng.choices(["scan", "restricted", "never"], weights=[65, 30, 5])[0]
        doc: dict = {
            "id": f"dev-{i:05d}",
            "name": f"Device {i}",
            "vendor": "Acme",
            "model": GROUPS[i % len(GROUPS)],
            "category": rng.choice(["plc", "infusion-pump", "patient-monitor", "imaging", "payment-terminal"]),
            "location": {"hosts": [f"10.{a // 250}.{a % 250}.{b + 1}"]},
            "policy": policy,
            "scope": "everywhere" if rng.random() < 0.02 else "assets",
            "constraints": {
                "excluded_ports": [{"ports": f"{rng.randint(1, 65535)}/tcp", "reason": "crashed once",
                                    "evidence": [f"INC-{i}"]}],
                "excluded_checks": [{"categories": rng.sample(CATS, 2), "reason": "disruptive"}],
                "rate": {"packets_per_second": rng.randint(10, 500), "parallel_checks_per_host": rng.randint(1, 4),
                         "reason": "slow stack"},
            },
        }
        if policy == "restricted":
            doc["group"] = GROUPS[i % len(GROUPS)]
        if policy == "never":
            doc["risk_acceptance"] = {"accepted_by": "CISO", "accepted_on": "2026-01-01", "expires": "2030-01-01",
                                      "reason": "clinical risk", "compensating_controls": ["isolated VLAN"]}
        if rng.random() < 0.2:
            doc["constraints"]["discovery"] = {"icmp": False, "tcp_syn": False, "reason": "fragile"}
        docs.append(doc)
    return docs


WORKSPACE_TOML = """\
[workspace]
name = "generated: {n} profiles"
state = ".scanguard/state.db"

[scanners.nmap-local]
type = "nmap"
"""


def write_workspace(root: Path, n: int, seed: int = 7) -> Path:
    """A workspace of `n` generated profiles at `root`; kept when one of the same size and seed
    is already there (writing 20,000 files takes a while), rewritten otherwise."""
    stamp = root / ".generated.json"
    wanted = {"profiles": n, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == wanted:
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "profiles").mkdir(parents=True)
    (root / "scanguard.toml").write_text(WORKSPACE_TOML.format(n=n), encoding="utf-8")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for doc in generate(n, seed):
        text = yaml.dump(doc, Dumper=dumper, sort_keys=False)
        (root / "profiles" / f"{doc['id']}.yaml").write_text(text, encoding="utf-8")
    stamp.write_text(json.dumps(wanted), encoding="utf-8")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--profiles", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(write_workspace(args.out, args.profiles, args.seed))


if __name__ == "__main__":
    main()
