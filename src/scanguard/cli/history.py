"""`scanguard history`: the runs, pushes and drift the state database holds."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import ScanguardError
from ..sync.state import StateDB
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, workspace
from .output import EXIT_FAILURE, emit_json, fail, info, out, safe


def history(
    scanner: Annotated[Optional[str], typer.Option("--scanner", "-s", help="Only this scanner's pushes and drift.")] = None,
    run: Annotated[Optional[int], typer.Option("--run", help="Only this run's pushes and drift.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many of each.")] = 20,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Show recent sync runs, every push (object, remote id, hashes, when, by whom) and every drift seen."""
    ws = workspace(workspace_, quiet=True)
    path = ws.state_path()
    if not path.exists():
        if json_:
            emit_json({"command": "history", "state": str(path), "schema": None, "runs": [], "pushes": [], "drift": []})
        else:
            info(f"no state database at {safe(path)} yet: nothing has been synced from this workspace")
        return
    try:
        with StateDB(path) as db:
            runs = db.runs(limit)
            pushes = db.pushes(scanner=scanner, run_id=run, limit=limit)
            drift = db.drifts(scanner=scanner, run_id=run, limit=limit)
            version = db.version()
    except ScanguardError as e:
        fail(str(e), EXIT_FAILURE)
    if json_:
        emit_json({"command": "history", "state": str(path), "schema": version,
                   "runs": [r.model_dump(mode="json") for r in runs],
                   "pushes": [p.model_dump(mode="json") for p in pushes],
                   "drift": [d.model_dump(mode="json") for d in drift]})
        return
    t = Table(title=f"runs ({safe(path)})")
    for col in ("run", "started", "finished", "user", "command", "status", "exit", "scanners"):
        t.add_column(col, overflow="fold")
    for r in runs:
        t.add_row(str(r.id), r.started_at, r.finished_at or "-", safe(r.user), r.command, r.status,
                  "-" if r.exit_code is None else str(r.exit_code), safe(r.scanners))
    out.print(t)
    t = Table(title="pushes")
    for col in ("run", "at", "user", "scanner", "object", "action", "remote id", "before", "after", "verified"):
        t.add_column(col, overflow="fold")
    for p in pushes:
        t.add_row(str(p.run_id), p.at, safe(p.user), safe(p.scanner), safe(p.object_name), p.action,
                  safe(p.remote_id or "-"), (p.before_hash or "-")[:12], (p.after_hash or "-")[:12],
                  "yes" if p.verified else "[red]no[/]")
    out.print(t)
    t = Table(title="drift seen")
    for col in ("run", "at", "scanner", "object", "remote id", "restored", "less safe"):
        t.add_column(col, overflow="fold")
    for d in drift:
        t.add_row(str(d.run_id), d.at, safe(d.scanner), safe(d.object_name), safe(d.remote_id or "-"),
                  "yes" if d.restored else "[red]no[/]", safe("; ".join(d.weaker) or "-"))
    out.print(t)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("history")(history)
