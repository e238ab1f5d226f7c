"""`scanguard check`: go or no-go for a scan, with reasons."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..check import Verdict, check_scan
from ..compile import compile_plan
from ..model.addresses import AddressSet
from ..model.events import CheckRequest, CheckResult
from ..suggest import unknown
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_INVALID, EXIT_SAFETY, emit_json, fail, info, out, print_results


def check(
    targets: Annotated[str, typer.Option("--targets", help="Hosts, CIDRs and ranges, comma-separated "
                                                            "(a /8 is fine: nothing is expanded).")],
    exclude: Annotated[Optional[str], typer.Option(
        "--exclude", help="Hosts, CIDRs and ranges the scan leaves out of its targets, comma-separated (as nmap's "
                          "--exclude).")] = None,
    template: Annotated[Optional[str], typer.Option("--template", help="A compiled template name.")] = None,
    payload: Annotated[Optional[Path], typer.Option("--payload", help="A vendor's native template file "
                                                     "(what the scanner will run), read with --vendor.")] = None,
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="The vendor whose parser reads --payload.")] = None,
    scanner: Annotated[Optional[str], typer.Option("--scanner", help="The scanner that will run the scan; with "
                                                    "--template, its live copy is compared with the plan (drift).")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="When the scan runs (ISO 8601; default: now).")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Say go (exit 0) or no-go (exit 3) for a scan, with every reason; plugins add checks. The
    scan's reach is its targets less --exclude, and less the compiled template's own exclusions
    where the scanner that runs it keeps them (see `scanguard explain --host`)."""
    ws = workspace(workspace_)
    pm = plugins()
    try:
        target_set = AddressSet.parse(targets)
    except ValueError as e:
        fail(f"--targets: {e}", EXIT_INVALID)
    try:
        excluded = AddressSet.parse(exclude or [])
    except ValueError as e:
        fail(f"--exclude: {e}", EXIT_INVALID)
    if scanner and scanner not in ws.config.scanners:
        fail(unknown("scanner", scanner, ws.config.scanners, listed="configured"), EXIT_INVALID)
    when = datetime.now(timezone.utc)
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at {at!r} is not an ISO 8601 time (like 2026-11-28T02:00:00+01:00)", EXIT_INVALID)
        if when.tzinfo is None:
            fail("--at needs a time zone offset (like +01:00 or Z)", EXIT_INVALID)
    tpl: object | None = None
    unjudged: list[CheckResult] = []
    if template:
        plan = run_guarded(compile_plan, ws, pm)
        tpl = plan.get(template)
        if tpl is None:
            fail(unknown("compiled template", template, [t.name for t in plan.templates], listed="compiled"),
                 EXIT_INVALID)
    elif payload:
        if not vendor:
            fail("--payload needs --vendor", EXIT_INVALID)
        if not payload.is_file():
            fail(f"{payload}: no such file", EXIT_INVALID)
        v = run_guarded(pm.vendor, vendor)
        import json

        try:
            text = payload.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            fail(f"{payload}: cannot be read ({e})", EXIT_INVALID)
        try:
            doc = json.loads(text)
        except ValueError:
            doc = text
        try:
            tpl = v.parse(doc)
        except Exception as e:  # what cannot be judged (unknown options, unknown defaults) is a no-go
            unjudged.append(CheckResult(
                severity="error", code="payload-not-judged",
                message=f"{payload} cannot be judged as a {vendor} template: {e}",
                fix="name what the scan does explicitly (for nmap: -p with every port, known options only), "
                    "or check a compiled template with --template",
            ))
    request = CheckRequest(scanner=scanner, template_name=template, template=tpl, targets=target_set,
                           exclude=excluded, when=when)
    verdict = check_scan(request, ws, pm)
    if unjudged:
        verdict = Verdict(go=False, results=tuple(unjudged) + verdict.results)
    if scanner and template:
        from ..check import live_template_results

        live = tuple(run_guarded(live_template_results, ws, pm, scanner, template))
        results = verdict.results + live
        verdict = Verdict(go=not any(r.severity == "error" for r in results), results=results)
    if json_:
        emit_json({"go": verdict.go, "results": [r.model_dump(mode="json") for r in verdict.results]})
    else:
        print_results((r.severity, f"{r.code}: {r.message}", r.fix) for r in verdict.results)
        out.print("[bold green]GO[/]" if verdict.go else "[bold red]NO-GO[/]")
        info(f"{len(verdict.results)} result(s) from {len(pm.info())} plugin(s)")
    if not verdict.go:
        raise typer.Exit(EXIT_SAFETY)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("check")(check)
