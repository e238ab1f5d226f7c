"""Benchmark: `find-misplaced` over a 500 MB export holds memory flat.

    .venv/bin/python benchmarks/bench_misplaced_memory.py [--size-mb 500] [--vendor nmap --vendor nessus ...]

For each vendor, an export is generated under benchmarks/_data/ (gitignored) by repeating the
hosts of its real fixture (../shared/fixtures/results) with new addresses, a payment terminal
planted every 2,000 hosts (20 for Nessus, whose hosts are large) outside its location; a small one (--small-mb) is generated beside it.
Each run is a fresh process judging every host against the example hospital's profiles
(scanguard.misplaced.find_misplaced, what the command runs); its peak RSS (ru_maxrss) is its
own. Printed side by side: peak memory of the big and the small export and their ratio (flat
memory: close to 1), hosts, terminals found, and throughput over the child's CPU time.

GVM is not in the default set: a GVM report lists every result apart from its hosts, so its
parser keeps each host's results until the report's end (memory grows with the results, not
with the file: see plugins/gvm). Pass --vendor gvm to measure it anyway.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures" / "results"
DATA = HERE / "_data"
DEFAULT_VENDORS = ("nmap", "nessus", "insightvm")
EVERY = {"nmap": 2000, "insightvm": 2000, "gvm": 2000, "nessus": 20}
"""A terminal is planted after every N hosts (a Nessus fixture host is large: about 1.4 MB)."""
FLAT_GOAL = 1.25
"""Peak memory on the big export over peak memory on the small one."""


def _address(n: int) -> str:
    return f"10.{100 + (n >> 16) % 100}.{(n >> 8) & 255}.{n & 255}"


def _blocks(text: str, tag: str) -> tuple[str, list[str], str]:
    blocks = re.findall(rf"<{tag}\b.*?</{tag}>", text, flags=re.DOTALL)
    head = text[: text.index(blocks[0])]
    tail = text[text.rindex(blocks[-1]) + len(blocks[-1]):]
    return head, blocks, tail


def _readdress(vendor: str, block: str, ip: str) -> str:
    if vendor == "nmap":
        return re.sub(r'<address addr="[^"]*" addrtype="ipv4"/>', f'<address addr="{ip}" addrtype="ipv4"/>', block, count=1)
    if vendor == "nessus":
        block = re.sub(r'<ReportHost name="[^"]*">', f'<ReportHost name="{ip}">', block, count=1)
        return re.sub(r'<tag name="host-ip">[^<]*</tag>', f'<tag name="host-ip">{ip}</tag>', block, count=1)
    if vendor == "insightvm":
        return re.sub(r'<node address="[^"]*"', f'<node address="{ip}"', block, count=1)
    raise ValueError(vendor)


def generate(vendor: str, path: Path, size_mb: int) -> int:
    """Write an export of at least size_mb MB; returns the number of terminals planted."""
    from tests.misplaced.devices import FIXTURE, Device, Service, gvm_host, gvm_ports, gvm_results
    from tests.misplaced.devices import insightvm_node, nessus_host, nmap_host

    terminal = (Service(443, name="https"), Service(7100, name="tms", product="Ingenico TMS"))
    writer = {"nmap": nmap_host, "nessus": nessus_host, "insightvm": insightvm_node}
    tag = {"nmap": "host", "nessus": "ReportHost", "insightvm": "node", "gvm": "result"}[vendor]
    text = (FIXTURES / FIXTURE[vendor]).read_text(encoding="utf-8")
    target = size_mb * 1024 * 1024
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    n = planted = written = 0
    if vendor == "gvm":
        # results (every host's) first, then the hosts: the shape gvmd prints
        head, blocks, _ = _blocks(text, "result")
        hosts: list[str] = []
        ports: list[str] = []
        with tmp.open("w", encoding="utf-8") as out:
            out.write(head)
            while written < target:
                for block in blocks:
                    n += 1
                    ip = _address(n)
                    b = re.sub(r"<host>[^<]*", f"<host>{ip}", block, count=1)
                    out.write(b)
                    written += len(b)
                    hosts.append(f"<host><ip>{ip}</ip><start>2023-09-26T10:50:34Z</start></host>")
                    if n % EVERY[vendor] == 0:
                        d = Device(address=_address(n + 10_000_000), services=terminal)
                        out.write(gvm_results(d))
                        hosts.append(gvm_host(d))
                        ports.append(gvm_ports(d))
                        planted += 1
            out.write("</results><ports>" + "".join(ports) + "</ports>" + "".join(hosts)
                      + "<errors><count>0</count></errors></report></report>\n")
        tmp.rename(path)
        return planted
    head, blocks, tail = _blocks(text, tag)
    with tmp.open("w", encoding="utf-8") as out:
        out.write(head)
        while written < target:
            for block in blocks:
                n += 1
                b = _readdress(vendor, block, _address(n))
                out.write(b + "\n")
                written += len(b) + 1
                if n % EVERY[vendor] == 0:
                    out.write(writer[vendor](Device(address=_address(n + 10_000_000), services=terminal)))
                    planted += 1
        out.write(tail)
    tmp.rename(path)
    return planted


def child(path: Path) -> None:
    """Judge every host of one export; print {"hosts", "found", "seconds", "peak_mb"}."""
    from scanguard import load_workspace
    from scanguard.misplaced import find_misplaced
    from scanguard.plugin.manager import load_plugins

    ws = load_workspace(REPO / "examples" / "hospital")
    vendors = load_plugins().vendors()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    report = find_misplaced([path], ws.profiles, vendors)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"hosts": report.exports[0].hosts, "found": len(report.misplaced), "seconds": cpu,
                      "wall": wall, "peak_mb": after.ru_maxrss / 1024}))


def measure(path: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=500, help="size of the big export (default 500)")
    ap.add_argument("--small-mb", type=int, default=5, help="size of the small export (default 5)")
    ap.add_argument("--vendor", action="append", choices=("nmap", "nessus", "insightvm", "gvm"),
                    help=f"vendors to measure (default {', '.join(DEFAULT_VENDORS)})")
    ap.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child))
        return 0
    if not FIXTURES.is_dir():
        print(f"no fixtures at {FIXTURES}: clone with ../shared beside the checkout", file=sys.stderr)
        return 1
    rows = []
    for vendor in args.vendor or DEFAULT_VENDORS:
        got = {}
        for size in (args.small_mb, args.size_mb):
            path = DATA / f"misplaced-{vendor}-{size}mb.xml"
            planted = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").exists() else None
            if planted is None or not path.exists():
                print(f"generating {path.name} ...", file=sys.stderr)
                planted = generate(vendor, path, size)
                path.with_suffix(".json").write_text(json.dumps(planted))
            print(f"running find-misplaced on {path.name} ...", file=sys.stderr)
            got[size] = dict(measure(path), planted=planted, mb=path.stat().st_size / 1e6)
        rows.append((vendor, got[args.small_mb], got[args.size_mb]))
    print(f"\nfind-misplaced peak memory, {args.small_mb} MB export beside a {args.size_mb} MB one "
          f"(goal: ratio <= {FLAT_GOAL:g})")
    print(f"{'vendor':<10}{'MB':>8}{'hosts':>9}{'found/planted':>15}{'cpu s':>8}{'MB/s':>7}{'peak MB':>9}{'ratio':>7}")
    for vendor, small, big in rows:
        for label, r in (("small", small), ("big", big)):
            if "error" in r:
                print(f"{vendor:<10} {label} failed: {r['error']}")
                continue
            ratio = f"{big['peak_mb'] / small['peak_mb']:.2f}" if label == "big" and "error" not in small else ""
            print(f"{vendor:<10}{r['mb']:>8.0f}{r['hosts']:>9}{r['found']:>8}/{r['planted']:<6}{r['seconds']:>8.1f}"
                  f"{r['mb'] / max(r['seconds'], 1e-9):>7.1f}{r['peak_mb']:>9.0f}{ratio:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
