"""`scanguard validate`: every problem in the workspace at once, with file, line and field."""

from __future__ import annotations

import typer

from ..workspace import check_vendors, check_workspace
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins
from .output import EXIT_INVALID, emit_json, err, info, safe


def validate(workspace: WorkspaceOpt = DEFAULT_WS, json_: JsonOpt = False) -> None:
    """Check the workspace: profiles, templates and scanguard.toml. Exit 2 when anything is invalid."""
    ws, problems = check_workspace(workspace)
    items = sorted(problems.items, key=lambda p: (p.file, p.line or 0))
    if ws is not None:
        known = set(plugins().vendors())
        for p in check_vendors(ws, known):
            # a scanner whose vendor is missing cannot be rendered or synced; that is for render/sync to refuse
            items.append(type(p)(p.file, p.line, p.field, p.message + "; render and sync will refuse it", "warning"))
    errors = [p for p in items if p.severity == "error"]
    warnings = [p for p in items if p.severity != "error"]
    if json_:
        emit_json({
            "valid": not errors,
            "workspace": str(workspace),
            "profiles": len(ws.profiles) if ws else None,
            "templates": len(ws.templates) if ws else None,
            "problems": [
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message, "severity": p.severity}
                for p in items
            ],
        })
    else:
        for p in errors:
            err.print(f"[red]error[/] {safe(p.text())}")
        for p in warnings:
            err.print(f"[yellow]warning[/] {safe(p.text())}")
        if errors:
            err.print(f"[bold red]{len(errors)} error(s)[/], {len(warnings)} warning(s)")
        else:
            assert ws is not None
            info(f"[green]valid[/]: {len(ws.profiles)} profiles, {len(ws.templates)} templates, "
                 f"{len(ws.config.scanners)} scanners, {len(warnings)} warning(s)")
    if errors:
        raise typer.Exit(EXIT_INVALID)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("validate")(validate)
