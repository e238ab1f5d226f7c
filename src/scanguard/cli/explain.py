"""`scanguard explain`: why a compiled template looks the way it does."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..compile import compile_plan
from ..explain import explain as explain_template
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, run_guarded, workspace
from .output import EXIT_INVALID, emit_json, fail, out, safe


def explain(
    template: Annotated[str, typer.Argument(help="A compiled template name, like full-audit or full-audit@imaging.")],
    port: Annotated[Optional[str], typer.Option("--port", help="Only what concerns this port, like 7100/tcp.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Say which profile, constraint, reason and evidence narrowed a template (or removed a port)."""
    ws = workspace(workspace_)
    plan = run_guarded(compile_plan, ws)
    ct = plan.get(template)
    if ct is None:
        names = ", ".join(t.name for t in plan.templates)
        fail(f"no compiled template {template!r}; compiled templates: {names}", EXIT_INVALID)
    if port is not None:
        try:
            from ..model.ports import PortSet

            PortSet.parse(port)
        except ValueError as e:
            fail(f"--port {port!r}: {e}", EXIT_INVALID)
    ex = explain_template(ct, port, ws)
    if json_:
        emit_json({"explanation": ex.model_dump(mode="json")})
        return
    out.print(f"[bold]{safe(ex.template)}[/] (base {safe(ex.base)}"
              + (f", group {safe(ex.group)}" if ex.group else "") + f"): {safe(ex.summary)}")
    if ex.devices:
        out.print(f"devices: {safe(', '.join(ex.devices))}")
    for p in ex.because:
        out.print(f"  [bold]{safe(p.profile)}[/]: {p.kind} {safe(p.item)} (scope {p.scope})")
        out.print(f"    reason:   {safe(p.reason)}")
        if p.evidence:
            out.print(f"    evidence: {safe(', '.join(p.evidence))}")
        if p.source:
            out.print(f"    file:     {safe(p.source)}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("explain")(explain)
