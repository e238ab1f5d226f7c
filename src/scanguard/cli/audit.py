"""`scanguard audit EXPORT`: every way a scan that actually ran broke the profiles."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..audit import AuditReport, audit_export, findings
from ..exports import vendor_of
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_INVALID, EXIT_OK, EXIT_SAFETY, emit_json, fail, info, out, safe

def audit(
    export: Annotated[Path, typer.Argument(help="A scan export: .nessus, nmap -oX, GVM report XML, InsightVM XML "
                                           "(NexposeReport); the vendor is told from the file's root element.")],
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Read the export with this vendor's parser "
                                                  "instead of telling it from the file.")] = None,
    format_: Annotated[Optional[str], typer.Option("--format", help="Write the findings in a report format "
                                                   "(json, defectdojo, ...) on stdout.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Audit a scan export against the workspace's profiles: a policy that probed a fragile port or
    ran unsafe checks, fragile devices among the hosts scanned with a policy unsafe for them,
    devices that must never be scanned.

    Exit codes: 0 clean; 2 invalid input (a missing, malformed or hostile file); 3 violations, or an
    audit that could not judge the scan (outcome "undetermined": the policy is unreadable while a
    constraint could apply)."""
    if not export.is_file():
        fail(f"{export}: no such file", EXIT_INVALID)
    ws = workspace(workspace_)
    pm = plugins()
    v = run_guarded(vendor_of, export, pm.vendors(), vendor)  # from the file's root element, whatever its name
    report: AuditReport = run_guarded(audit_export, ws, v, export)
    if format_:
        run_guarded(pm.write_report, format_, findings(report), sys.stdout)
    elif json_:
        emit_json({
            "export": report.export,
            "vendor": report.vendor,
            "policy": report.policy,
            "hosts_scanned": report.hosts_scanned,
            "outcome": report.outcome,
            "violations": len(report.violations),
            "undetermined": list(report.undetermined),
            "results": [r.model_dump(mode="json") for r in report.results],
        })
    else:
        _print(report)
    # cannot judge is not a pass: like a violation, someone has to look (the outcome says which)
    raise typer.Exit(EXIT_OK if report.outcome == "clean" else EXIT_SAFETY)


def _print(report: AuditReport) -> None:
    head = (f"{safe(report.export)}: policy {safe(report.policy or '(unreadable)')}, "
            f"{report.hosts_scanned} host(s) scanned")
    if report.outcome == "clean" and not report.results:
        info(f"[green]clean[/]: {head}; no profile broken")
        return
    table = Table(title=head)
    for col in ("severity", "device", "check", "message", "fix"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        table.add_row(r.severity, safe(r.device or "-"), r.code, safe(r.message), safe(r.fix))
    if report.results:
        out.print(table)
    for reason in report.undetermined:
        info(f"[bold red]undetermined[/]: {safe(reason)}")
    info(f"{report.outcome}: {len(report.violations)} violation(s), "
         f"{len(report.results) - len(report.violations)} warning(s)")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("audit")(audit)
