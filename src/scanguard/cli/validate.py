"""`scanguard validate`: every problem in the workspace at once, with file, line and field; the
one gate: what render, sync or check would refuse is refused here first."""

from __future__ import annotations

from typing import Annotated

import typer

from ..gate import credential_problems, vendor_problems
from ..workspace import check_workspace
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, problem_doc
from .output import EXIT_INVALID, EXIT_OK, emit_json, err, info, safe


def validate(
    credentials: Annotated[bool, typer.Option("--credentials", help="Also check that every credential variable "
                                              "scanguard.toml names is set (or in the keyring).")] = False,
    workspace: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Check the workspace: profiles, templates and scanguard.toml; that every scanner's vendor is
    loaded; that the workspace compiles and every template renders safely for the vendors of the
    scanners it goes to (a constraint a vendor cannot keep is named at the profile line asking
    for it). Exit 2 when anything is invalid."""
    ws, problems = check_workspace(workspace)
    items = sorted(problems.items, key=lambda p: (p.file, p.line or 0))
    if ws is not None:
        pm = plugins()
        found = vendor_problems(ws, pm) + (credential_problems(ws, pm) if credentials else [])
        items += sorted(found, key=lambda p: (p.file, p.line or 0))
    errors = [p for p in items if p.severity == "error"]
    warnings = [p for p in items if p.severity != "error"]
    code = EXIT_INVALID if errors else EXIT_OK
    if json_:
        emit_json({
            "command": "validate",
            "status": "invalid" if errors else "ok",
            "exit_code": code,
            "valid": not errors,
            "workspace": str(workspace),
            "profiles": len(ws.profiles) if ws else None,
            "templates": len(ws.templates) if ws else None,
            **({"error": f"{len(errors)} error(s) in the workspace"} if errors else {}),
            "problems": [problem_doc(p) for p in items],
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
                 f"{len(ws.config.scanners)} scanners (every template rendered for its scanners' vendors"
                 f"{', every credential set' if credentials else ''}), {len(warnings)} warning(s)")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("validate")(validate)
