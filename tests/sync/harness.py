"""Scenario building blocks shared by the engine tests, the fault matrix and the benchmark:
workspaces on disk, running a sync in-process, reading a scanner's state through its own client
(vendor-neutral: names, ids, markers), and judging safety on what the fake actually stores
(`stored`, read from the fake's state by each backend, never through the client under test)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from scanguard import Workspace, load_workspace, parse_marker, payload_hash, violations
from scanguard.lattice import safety_regressions
from scanguard.plugin.manager import PluginManager
from scanguard.sync import RetryPolicy, StateDB, SyncEngine, SyncOptions
from scanguard.sync.models import RunSummary

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "examples" / "hospital" / "profiles"
LAB_PRINTER = """\
id: lab-printer
name: Lab label printers
vendor: Example
model: LP-1
category: printer
owner: {team: Lab IT, contact: lab-it@hospital.example}
location:
  cidrs: [10.20.70.0/28]
policy: scan
constraints:
  excluded_ports:
    - ports: 9100/tcp, 515/tcp
      reason: A raw print probe prints garbage labels and jams the feeder.
      evidence: [INC-2025-0001]
  rate:
    parallel_checks_per_host: 1
    reason: The print server answers one connection at a time.
"""
"""A scan-policy profile that narrows every general template (ports and rate): a planned update."""

FAST_RETRY = RetryPolicy(attempts=4, initial_wait_s=0.0, max_wait_s=0.0, deadline_s=60)


NO_PACKET_RATE = frozenset({"nessus", "tenableio", "tenablesc"})
"""Scanner types that refuse a packet rate (CannotEnforce: Tenable has none). For them the example
profiles are used without their `packets_per_second` (the refusal itself is tested apart)."""
_TYPE = re.compile(r'^type\s*=\s*"([^"]+)"', re.MULTILINE)
_PACKET_RATE = re.compile(r"^\s*packets_per_second:.*\n", re.MULTILINE)


def write_workspace(root: Path, scanners: dict[str, str], *, profiles: Iterable[str] = ("pos-terminal",),
                    templates: Iterable[str] = ("discovery", "full-audit"), state: str = "state.db",
                    extra_profiles: dict[str, str] | None = None) -> Path:
    """A workspace at `root`: scanners given as {name: the body of its [scanners.NAME] table}."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "profiles").mkdir(exist_ok=True)
    for old in (root / "profiles").glob("*.yaml"):
        old.unlink()
    no_rate = any(t in NO_PACKET_RATE for body in scanners.values() for t in _TYPE.findall(body))
    for p in profiles:
        text = (PROFILES / f"{p}.yaml").read_text(encoding="utf-8")
        (root / "profiles" / f"{p}.yaml").write_text(_PACKET_RATE.sub("", text) if no_rate else text, encoding="utf-8")
    for name, text in (extra_profiles or {}).items():
        (root / "profiles" / f"{name}.yaml").write_text(text, encoding="utf-8")
    lines = ["[workspace]", f'state = "{state}"', "templates = [" + ", ".join(f'"{t}"' for t in templates) + "]", ""]
    for name, body in scanners.items():
        lines += [f"[scanners.{name}]", body.strip(), ""]
    (root / "scanguard.toml").write_text("\n".join(lines), encoding="utf-8")
    return root


def run_sync(root: "Path | Workspace", plugins: PluginManager, *, dry_run: bool = False, adopt: bool = False,
             max_workers: int | None = None, retry: RetryPolicy = FAST_RETRY,
             scanners: tuple[str, ...] = ()) -> RunSummary:
    """One sync of the workspace (at `root`, or loaded), recorded in its state database."""
    ws = root if isinstance(root, Workspace) else load_workspace(root)
    with StateDB(ws.state_path()) as state:
        engine = SyncEngine(ws, plugins, state=state, options=SyncOptions(
            dry_run=dry_run, adopt=adopt, max_workers=max_workers, retry=retry, scanners=scanners))
        return engine.run()


def snapshot(ws: Workspace, plugins: PluginManager, scanner: str) -> dict[str, list[Any]]:
    """Every object on the scanner through its own client: {name: [payload, ...]} (a list, so
    duplicates show)."""
    cfg = ws.config.scanners[scanner]
    vendor = plugins.vendor(cfg.type)
    client = vendor.client(cfg)
    out: dict[str, list[Any]] = {}
    for o in client.list_managed():
        full = client.read(o.remote_id) if o.payload is None else o
        out.setdefault(o.name, []).append(full)
    return out


def stored(backend: Any, fake: Any) -> dict[str, list[Any]]:
    """Every object the fake holds, read from its stored state rather than through the client under
    test: {name: [RemoteObject, ...]} with payloads the vendor's parse reads."""
    if backend.stored is None:
        raise AssertionError(f"backend {backend.vendor} cannot read its fake's stored state")
    return backend.stored(fake)


def duplicates(snap: dict[str, list[Any]]) -> list[str]:
    """Names held more than once."""
    return [n for n, objs in snap.items() if len(objs) > 1]


def less_safe_than_before(ws: Workspace, plugins: PluginManager, scanner: str,
                          before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    """Every way the scanner's state after a run is less safe than before it: an object less safe
    than the least safe copy of it before, or a new object breaking its constraints."""
    from scanguard import compile_plan

    cfg = ws.config.scanners[scanner]
    vendor = plugins.vendor(cfg.type)
    plan = compile_plan(ws, plugins)
    out = []
    for name, objs in after.items():
        for o in objs:
            t = vendor.parse(o.payload)
            if name in before:
                # the object may be replaced by anything at least as safe as some copy there before
                olds = [vendor.parse(b.payload) for b in before[name]]
                if all(safety_regressions(t, old) for old in olds):
                    out.append(f"{name}: " + "; ".join(safety_regressions(t, olds[0])))
            else:
                ct = plan.get(name)
                bad = violations(t, ct.constraints, vendor=vendor.name) if ct else []
                if ct is None or bad:
                    out.append(f"{name} (new): " + ("not in the plan" if ct is None else "; ".join(v.text() for v in bad)))
    return out


def in_sync(ws: Workspace, plugins: PluginManager, scanner: str,
            held: dict[str, list[Any]] | None = None) -> list[str]:
    """Problems keeping the scanner from being exactly the plan (empty: converged). With `held`
    (what `stored` read from the fake), every planned object as stored must keep its constraints too."""
    from scanguard import compile_plan
    from scanguard.render import render_one

    cfg = ws.config.scanners[scanner]
    vendor = plugins.vendor(cfg.type)
    snap = snapshot(ws, plugins, scanner)
    problems = [f"duplicate {n}" for n in duplicates(snap)]
    for ct in compile_plan(ws, plugins).for_scanner(scanner):
        want = payload_hash(render_one(ct, vendor).payload)
        objs = snap.get(ct.name, [])
        if not objs:
            problems.append(f"missing {ct.name}")
            continue
        o = objs[0]
        if payload_hash(o.payload) != want or o.marker_hash != want:
            problems.append(f"{ct.name} differs from the plan")
        if violations(vendor.parse(o.payload), ct.constraints, vendor=vendor.name):
            problems.append(f"{ct.name} breaks its constraints")
        for kept in (held or {}).get(ct.name, []):
            if violations(vendor.parse(kept.payload), ct.constraints, vendor=vendor.name):
                problems.append(f"{ct.name} as stored on the scanner breaks its constraints")
        if held is not None and not held.get(ct.name):
            problems.append(f"{ct.name} is not stored on the scanner")
    return problems


def marker_of(obj: Any) -> str | None:
    """The marker hash of a RemoteObject (None: unmanaged)."""
    return obj.marker_hash


__all__ = ["write_workspace", "run_sync", "snapshot", "stored", "duplicates", "less_safe_than_before", "in_sync",
           "marker_of", "FAST_RETRY", "parse_marker"]
