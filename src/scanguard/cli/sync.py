"""`scanguard sync`: bring every scanner's managed templates to the plan, concurrently.

Exit codes (docs/operations.md): 0 every scanner in sync; 3 in sync, and drift was found and
restored (a dry run: found); 1 at least one scanner failed (the others were still synced);
2 the configuration is invalid (nothing was done).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import ScanguardError
from ..sync.engine import SyncEngine, SyncOptions, tls_warnings
from ..sync.models import RunSummary, ScannerResult
from ..sync.state import StateDB, SyncLock
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, workspace
from .output import (EXIT_FAILURE, EXIT_INVALID, emit_json, err, fail, failure_fields, info, out, safe, scanner_error,
                     warn)

ScannerOpt = Annotated[Optional[list[str]], typer.Option("--scanner", "-s", help="Only this scanner (repeatable).")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="Log to stderr (-v info, -vv debug).")]


def setup_logging(verbose: int) -> None:
    """Route scanguard's log records to stderr at the asked level (none by default: the command
    prints its own status; without this, Python would print warnings a second time, unformatted)."""
    logger = logging.getLogger("scanguard")
    for h in list(logger.handlers):
        if getattr(h, "_scanguard_cli", False):
            logger.removeHandler(h)
    handler: logging.Handler
    if verbose:
        from rich.logging import RichHandler

        handler = RichHandler(console=err, show_path=False, markup=False, rich_tracebacks=False)
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    else:
        handler = logging.NullHandler()
    handler._scanguard_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


class _Progress:
    """The engine's observer, drawing one bar per scanner (rich drops it off a terminal)."""

    def __init__(self, progress: Progress, scanners: list[str]):
        self.p = progress
        self.lock = threading.Lock()
        self.tasks = {s: progress.add_task(safe(s), total=None) for s in scanners}

    def started(self, scanner: str, total: int) -> None:
        with self.lock:
            self.p.update(self.tasks[scanner], total=total)

    def step(self, scanner: str, text: str) -> None:
        with self.lock:
            self.p.advance(self.tasks[scanner])

    def finished(self, result: ScannerResult) -> None:
        with self.lock:
            t = self.tasks[result.scanner]
            total = self.p.tasks[t].total or 1
            self.p.update(t, total=total, completed=total,
                          description=f"{safe(result.scanner)} [{_colour(result.status)}]{result.status}[/]")


def _colour(status: str) -> str:
    return {"ok": "green", "drift_restored": "yellow", "retired": "yellow", "refused": "yellow", "failed": "red",
            "skipped": "dim"}.get(status, "white")


def summary_doc(summary: RunSummary, state_path: str) -> dict:
    """The stable JSON summary (schema_version 1; fields are only ever added)."""
    return {
        "command": "sync",
        "run_id": summary.run_id,
        "dry_run": summary.dry_run,
        "status": summary.status,
        "exit_code": summary.exit_code,
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "user": summary.user,
        "state": state_path,
        "totals": summary.totals(),
        "warnings": list(summary.warnings),
        "scanners": [s.model_dump(mode="json") for s in summary.scanners],
    }


def summary_line(summary: RunSummary) -> str:
    """"2 created, 1 updated, 7 unchanged, 1 drift restored, 0 scanners failed"."""
    t = summary.totals()
    drift = f"{t['drift_found']} drift found" if summary.dry_run else f"{t['drift_restored']} drift restored"
    verb = ("to create", "to update") if summary.dry_run else ("created", "updated")
    parts = [f"{t['created'] if not summary.dry_run else _planned(summary, 'create')} {verb[0]}",
             f"{t['updated'] if not summary.dry_run else _planned(summary, 'update')} {verb[1]}",
             f"{t['unchanged']} unchanged", drift]
    if t["conflicts"]:
        parts.append(f"{t['conflicts']} conflict(s)")
    if t["retired"]:
        parts.append(f"{t['retired']} {'to retire' if summary.dry_run else 'retired'} (no longer safe to keep)")
    parts.append(f"{t['failed_scanners']} scanner(s) failed")
    return ", ".join(parts)


def _planned(summary: RunSummary, kind: str) -> int:
    return sum(1 for s in summary.scanners for o in s.objects if o.action == kind)


def _print_human(summary: RunSummary) -> None:
    table = Table(title="scanguard sync" + (" (dry run: nothing written)" if summary.dry_run else ""))
    for col in ("scanner", "vendor", "status", "created", "updated", "unchanged", "drift restored", "errors",
                "writes"):
        table.add_column(col, overflow="fold")
    for s in summary.scanners:
        table.add_row(safe(s.scanner), s.vendor, f"[{_colour(s.status)}]{s.status}[/]", str(s.created),
                      str(s.updated), str(s.unchanged), str(s.drift_restored if not summary.dry_run else s.drift_found),
                      str(len(s.errors)), str(s.writes))
    out.print(table)
    for s in summary.scanners:
        for o in s.objects:
            if o.action == "drift":
                what = "DRIFT found" if summary.dry_run else ("DRIFT restored" if o.verified else "DRIFT NOT restored")
                err.print(f"[bold red]{what}[/] on scanner {safe(s.scanner)}: {safe(o.name)} was edited on the scanner"
                          + (f"; it was less safe: {safe('; '.join(o.weaker))}" if o.weaker else ""))
            if o.action == "retire":
                what = "TO RETIRE" if summary.dry_run else ("RETIRED" if o.verified else "NOT RETIRED")
                err.print(f"[bold red]{what}[/] on scanner {safe(s.scanner)}: {safe(o.name)}: {safe('; '.join(o.weaker))}")
        for e in s.errors:
            err.print(f"[red]error[/] {safe(scanner_error(s.scanner, e.message, e.object))}")
        if s.retries:
            info(f"scanner {safe(s.scanner)}: {len(s.retries)} transient failure(s) retried")
        for w in s.warnings:
            if "TLS" not in w:  # TLS warnings were printed before the run
                warn(w)
    style = {"ok": "green", "drift_restored": "yellow", "retired": "yellow", "refused": "yellow",
             "failed": "bold red", "invalid": "bold red"}[summary.status]
    info(f"[{style}]{summary_line(summary)}[/]")


def sync(
    scanner: ScannerOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and compare only; write nothing to scanners.")] = False,
    adopt: Annotated[bool, typer.Option("--adopt", help="Take over unmanaged objects that carry a managed name "
                                                       "(default: report them as conflicts and leave them).")] = False,
    parallel: Annotated[Optional[int], typer.Option("--parallel", min=1, help="Scanners synced at once "
                                                                           "(default: all, up to 32).")] = None,
    verbose: VerboseOpt = 0,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Push the plan to every scanner: create what is missing, update what changed, restore drift,
    retire templates the plan can no longer vouch for, keep the scanner-side exclusions.
    Exit 0 in sync, 3 drift restored or a template retired, 1 a scanner failed, 2 configuration invalid."""
    setup_logging(verbose)
    ws = workspace(workspace_, quiet=True)
    for p in ws.warnings:
        if not p.field.endswith("tls.verify"):
            warn(p.text())
    pm = plugins()
    options = SyncOptions(scanners=tuple(scanner or ()), dry_run=dry_run, adopt=adopt, max_workers=parallel,
                          command="sync --dry-run" if dry_run else "sync")
    state_path = ws.state_path()
    try:
        with SyncLock(state_path), StateDB(state_path) as state:
            engine = SyncEngine(ws, pm, options=options, state=state)
            for w in tls_warnings(engine.scanners.values()):
                warn(w)
            try:
                engine.vendors(strict=True)
                engine.plan()
            except ScanguardError as e:
                fail(str(e), EXIT_INVALID if e.exit_code in (2, 3) else EXIT_FAILURE)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=True) as progress:
                engine.observer = _Progress(progress, list(engine.scanners))
                summary = engine.run()
    except ScanguardError as e:
        fail(str(e), e.exit_code if e.exit_code == EXIT_INVALID else EXIT_FAILURE)
    if json_:
        emit_json(summary_doc(summary, str(state_path)))
    else:
        _print_human(summary)
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("sync")(sync)
    failure_fields("sync", scanners=[])
