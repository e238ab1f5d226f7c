"""`scanguard explain`: why a compiled template looks the way it does."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..compile import compile_plan
from ..explain import Explanation, constraint_views, explain as explain_template, explain_host
from ..suggest import unknown
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_INVALID, emit_json, fail, out, safe


def explain(
    template: Annotated[str, typer.Argument(help="A compiled template name, like full-audit or full-audit@imaging.")],
    port: Annotated[Optional[str], typer.Option("--port", help="Only what concerns this port, like 7100/tcp.")] = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Why this address is or is not reached by the "
                                                "template, and the constraints that apply to it there.")] = None,
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Also show, for each constraint, the setting of "
                                                  "this vendor's rendering that carries it.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Say which profile, constraint (with its values), reason and evidence narrowed a template,
    or removed a port; with --host, whether an address is reached and why; with --vendor, how
    the vendor's rendering keeps each constraint."""
    if port is not None and host is not None:
        fail("give --port or --host, not both", EXIT_INVALID)
    ws = workspace(workspace_)
    pm = plugins()
    plan = run_guarded(compile_plan, ws, pm)
    ct = plan.get(template)
    if ct is None:
        fail(unknown("compiled template", template, [t.name for t in plan.templates], listed="compiled templates"),
             EXIT_INVALID)
    v = run_guarded(pm.vendor, vendor) if vendor is not None else None
    if port is not None:
        try:
            from ..model.ports import PortSet

            PortSet.parse(port)
        except ValueError as e:
            fail(f"--port {port!r}: {e}", EXIT_INVALID)
    if host is not None:
        try:
            ex = explain_host(ct, host, ws, plan.templates)
        except ValueError as e:
            fail(f"--host {host!r}: {e}", EXIT_INVALID)
    else:
        ex = explain_template(ct, port, ws)
    ex = ex.model_copy(update={"constraints": constraint_views(ct, ex.because, ws, v)})
    if json_:
        emit_json({"explanation": ex.model_dump(mode="json")})
        return
    _print(ex)


def _print(ex: Explanation) -> None:
    out.print(f"[bold]{safe(ex.template)}[/] (base {safe(ex.base)}"
              + (f", group {safe(ex.group)}" if ex.group else "") + f"): {safe(ex.summary)}")
    if ex.devices:
        out.print(f"devices: {safe(', '.join(ex.devices))}")
    if ex.host is not None:
        out.print(f"at {safe(ex.host)}: {safe(', '.join(ex.host_devices) or 'no profiled device')}")
    for c in ex.constraints:
        p = c.provenance
        out.print(f"  [bold]{safe(p.profile)}[/]: {p.kind} {safe(p.item)}: {safe(c.value)} (scope {p.scope})")
        out.print(f"    template: {safe(c.template)}")
        if c.vendor is not None and c.refused:
            out.print(f"    {safe(c.vendor)}: [red]refuses the template[/]: {safe(c.refused)}")
        elif c.vendor is not None:
            for line in c.settings or ("(renders the same without it: the base template or another "
                                       "constraint already asks for as much)",):
                out.print(f"    {safe(c.vendor)}: {safe(line)}")
        out.print(f"    reason:   {safe(p.reason)}")
        if p.evidence:
            out.print(f"    evidence: {safe(', '.join(p.evidence))}")
        if c.file:
            out.print(f"    file:     {safe(c.file)}{f':{c.line}' if c.line else ''}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("explain")(explain)
