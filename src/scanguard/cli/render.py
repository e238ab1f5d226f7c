"""`scanguard render`: each vendor's native documents for every compiled template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..compile import compile_plan
from ..errors import SafetyError, ScanguardError, UsageError
from ..render import render_exclusions, render_one, write_rendered
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_FAILURE, EXIT_INVALID, EXIT_SAFETY, emit_json, err, fail, info, out, safe


def render(
    vendor: Annotated[Optional[list[str]], typer.Option("--vendor", help="Only these vendors (repeatable). "
                                                        "Default: the vendors of the configured scanners.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Write payloads under DIR/<vendor>/.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Compile the workspace and render every template for each vendor; verify each rendering.
    Exit 2 when a vendor no plugin provides is named (by --vendor or a scanner's type), 1 when a
    vendor's plugin failed, 3 when a template cannot be rendered safely."""
    ws = workspace(workspace_)
    pm = plugins()
    plan = run_guarded(compile_plan, ws, pm)
    by_vendor: dict[str, list[str]] = {}
    for sname, sc in ws.config.scanners.items():
        by_vendor.setdefault(sc.type, []).append(sname)
    names = sorted(set(vendor)) if vendor else sorted(by_vendor)
    unknown = [str(e) for e in (_unknown_vendor(pm, n) for n in names) if e is not None]
    if unknown:  # a name no plugin provides (on the command line or a scanner's type): nothing is rendered
        fail("; ".join(unknown), EXIT_INVALID)
    results, failures, vendors, exclusions = [], [], {}, []
    for vname in names:
        try:
            v = pm.vendor(vname)
        except ScanguardError as e:  # its plugin failed to load: the others are still rendered
            failures.append({"vendor": vname, "template": None, "error": str(e)})
            continue
        vendors[vname] = v
        wanted = set(by_vendor.get(vname, ())) if not vendor else None
        for ct in plan.templates:
            if wanted is not None and not wanted & set(ct.scanners):
                continue
            try:
                results.append(render_one(ct, v))
            except ScanguardError as e:
                failures.append({"vendor": vname, "template": ct.name, "error": str(e),
                                 "refused": isinstance(e, SafetyError)})
        try:
            exclusions.extend(render_exclusions(plan.exclusions, v))
        except ScanguardError as e:
            failures.append({"vendor": vname, "template": None, "error": str(e), "refused": isinstance(e, SafetyError)})
    written = write_rendered(results, vendors, out_dir, exclusions) if out_dir else []
    code = EXIT_FAILURE if any(not f.get("refused") for f in failures) else EXIT_SAFETY if failures else 0
    if json_:
        emit_json({
            "command": "render",
            "status": {0: "ok", EXIT_FAILURE: "error", EXIT_SAFETY: "refused"}[code],
            "exit_code": code,
            "templates": [
                {"name": r.name, "vendor": r.vendor, "base": r.base, "group": r.group,
                 "targets": {"include": list(r.include), "exclude": list(r.exclude)}, "payload": r.payload}
                for r in results
            ],
            "exclusions": [{"vendor": x.vendor, "name": x.name, "keeps": list(x.keeps), "payload": x.payload}
                           for x in exclusions],
            "errors": failures,
        })
    else:
        table = Table(title=f"{len(results)} template(s) rendered")
        for col in ("vendor", "template", "base", "group", "ports", "targets"):
            table.add_column(col, overflow="fold")
        for r in results:
            ct = plan.get(r.name)
            ports = str(ct.template.ports) if ct else ""
            table.add_row(r.vendor, safe(r.name), r.base, safe(r.group or "-"), ports if len(ports) < 60 else ports[:57] + "...",
                          safe(", ".join(r.include) or "(scanner's)"))
        out.print(table)
        for x in exclusions:
            info(f"{x.vendor}: scanner-side exclusion {safe(x.name)} keeps {len(x.keeps)} exclusion(s)")
        if written:
            info(f"wrote {len(written)} file(s) under {safe(out_dir)}")
        for f in failures:
            err.print(f"[red]{'refused' if f.get('refused') else 'error'}[/] {safe(f['error'])}")
    # 3 when every failure is a template that cannot be rendered safely: a safety finding
    raise typer.Exit(code)


def _unknown_vendor(pm, name: str) -> UsageError | None:
    try:
        pm.vendor(name)
    except UsageError as e:
        return e
    except ScanguardError:
        pass
    return None


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("render")(render)
