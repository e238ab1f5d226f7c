"""`scanguard correlate`: which scanner activity took a device down, and the profile change that
would have prevented it; `scanguard apply-proposal`: write that change into the profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..correlate import DEFAULT_LOOKBACK_S, CorrelationReport, check_kind_of, correlate as run_correlation
from ..errors import ScanguardError, UsageError
from ..health import read_csv
from ..model.run import ScanRun
from ..proposal import apply_proposals, proposals_from, read_proposals, write_proposals
from ..workspace import Workspace
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, compile_and_render_check, plugins, run_guarded, workspace
from .output import EXIT_INVALID, EXIT_OK, EXIT_SAFETY, emit_json, fail, info, out, safe, warn


def correlate(
    vendor: Annotated[str, typer.Option("--vendor", help="Whose activity log this is (nmap, nessus, ...): "
                                        "its plugin parses the log.")],
    activity: Annotated[list[Path], typer.Option("--activity", help="The scanner's activity log. Repeat for "
                                                 "repeated runs of the same scan: run N is the N-th --activity "
                                                 "with the N-th --health.")],
    health: Annotated[list[Path], typer.Option("--health", help="Device-health timeline CSV (columns time,host,"
                                               "state[,source,detail]). One per --activity, or one for all.")],
    propose: Annotated[Optional[Path], typer.Option("--propose", help="Write the best proposal for each host "
                                                    "to FILE (YAML) for `scanguard apply-proposal FILE`.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the best proposal for each host to the "
                                        "workspace's profiles now.")] = False,
    lookback: Annotated[float, typer.Option("--lookback", help="Seconds before the last up observation in which "
                                            "activity is still suspect.")] = DEFAULT_LOOKBACK_S,
    activity_tz: Annotated[str, typer.Option("--activity-tz", help="Time zone of activity logs that write "
                                             "local times without one (nessusd.messages), e.g. Europe/Berlin.")] = "UTC",
    format_: Annotated[Optional[str], typer.Option("--format", help="Write the findings in a report format "
                                                   "(json, defectdojo, ...) on stdout.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Correlate a scan's activity with device outages: for each outage, rank the activity on that
    host just before it; the same suspect last before the failure in every run (two or more) is
    confirmed; a burst with no single suspect points at rate. Proposes an excluded port, an
    excluded check or a rate limit for the device's profile.

    Exit codes: 0 no outage explained; 2 invalid input; 3 findings (a scan took a device down)."""
    if len(health) not in (1, len(activity)):
        fail(f"{len(activity)} --activity and {len(health)} --health: give one --health per --activity, "
             "or a single one for all runs", EXIT_INVALID)
    pm = plugins()
    v = run_guarded(pm.vendor, vendor)
    if v.parse_activity is None:
        fail(f"vendor {vendor} has no activity parser (its plugin does not provide parse_activity)", EXIT_INVALID)
    ws: Workspace | None = None
    if apply or (workspace_ / "scanguard.toml").exists():
        ws = workspace(workspace_, quiet=True)
    runs = []
    for i, log in enumerate(activity):
        hpath = health[i] if len(health) > 1 else health[0]
        runs.append(ScanRun(label=f"run {i + 1} ({log.name})", vendor=vendor, activity_log=log,
                            activity=tuple(run_guarded(_read_activity, v, log)),
                            health=tuple(run_guarded(read_csv, hpath))))
    kinds = {name: check_kind_of(rec) for name, rec in pm.vendors().items()}
    try:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(activity_tz)
    except (KeyError, ValueError):
        fail(f"--activity-tz {activity_tz!r} is not an IANA time zone (like UTC or Europe/Berlin)", EXIT_INVALID)
    report: CorrelationReport = run_guarded(run_correlation, runs, plugins=pm, workspace=ws, check_kinds=kinds,
                                            lookback_s=lookback, activity_tz=tz)
    for w in pm.warnings:  # correlators fail open, but loudly
        warn(w)
    proposals = proposals_from(report.findings)
    if propose is not None:
        write_proposals(proposals, propose)
        info(f"wrote {len(proposals)} proposal(s) to {safe(propose)}; apply with "
             f"`scanguard apply-proposal {safe(propose)}`")
    applied = []
    if apply and proposals:
        assert ws is not None
        applied = run_guarded(apply_proposals, proposals, ws.root, validate=compile_and_render_check())
    if format_:
        import sys

        run_guarded(pm.write_report, format_, report.findings, sys.stdout)
    elif json_:
        emit_json({
            "vendor": vendor,
            "runs": len(runs),
            "outages": [ob.outage.model_dump(mode="json") for ob in report.observations],
            "observations": [ob.model_dump(mode="json", exclude={"events"}) for ob in report.observations],
            "findings": [f.model_dump(mode="json") for f in report.findings],
            "proposals": [p.model_dump(mode="json") for p in proposals],
            "applied": [a.model_dump(mode="json") for a in applied],
        })
    else:
        _print(report, runs)
        for a in applied:
            info(f"{safe(a.profile)} ({safe(a.file)}): {safe(a.summary)}")
    raise typer.Exit(EXIT_SAFETY if report.findings else EXIT_OK)


def _read_activity(vendor, path: Path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return list(vendor.parse_activity(f))
    except OSError as e:
        raise UsageError(f"{path}: cannot read the activity log: {e}") from None


def _print(report: CorrelationReport, runs: list[ScanRun]) -> None:
    if not report.observations:
        info(f"no outage in {len(runs)} run(s): nothing to correlate")
        return
    table = Table(title=f"{len(report.observations)} outage(s) in {len(runs)} run(s)")
    for col in ("run", "host", "down at", "top suspect", "score", "burst /s"):
        table.add_column(col, overflow="fold")
    for ob in report.observations:
        top = ob.top()
        what = "-" if top is None else (top.check_id or (f"{top.port}/{top.protocol}" if top.port else top.protocol or "-"))
        table.add_row(safe(ob.run_label), safe(ob.outage.host), ob.outage.start.isoformat(timespec="seconds"),
                      safe(what), f"{top.score:.2f}" if top else "-", f"{ob.burst.peak_per_second:g}")
    out.print(table)
    for f in report.findings:
        out.print(f"[bold]{safe(f.title)}[/] (confidence {f.confidence:.2f}, {f.severity})")
        out.print(f"  {safe(f.description)}")
        for e in f.evidence:
            out.print(f"  - {safe(e)}")
        if f.proposal is not None:
            out.print(f"  proposal: {safe(f.proposal.kind)} for {safe(f.proposal.profile or f.device or f.host)}")


def apply_proposal(
    file: Annotated[Path, typer.Argument(help="A proposal file written by `scanguard correlate --propose` or "
                                         "`scanguard find-misplaced --propose`.")],
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Apply a proposal to the profile of the device that owns its host: the new excluded port,
    excluded check or rate limit is added to the profile's constraints with its reason and
    evidence, a misplaced device's address to its location with the evidence as a comment; the
    rest of the file is kept as written. The workspace is validated (and
    compiled and rendered) afterwards; on any problem nothing is changed."""
    ws = workspace(workspace_, quiet=True)
    proposals = run_guarded(read_proposals, file)
    if not proposals:
        fail(f"{file}: no proposal to apply", EXIT_INVALID)
    try:
        applied = apply_proposals(proposals, ws.root, validate=compile_and_render_check())
    except ScanguardError as e:
        fail(f"{e}", e.exit_code)
    if json_:
        emit_json({"applied": [a.model_dump(mode="json") for a in applied]})
    else:
        for a in applied:
            info(f"{'[green]changed[/]' if a.changed else 'unchanged'} {safe(a.profile)} ({safe(a.file)}): "
                 f"{safe(a.summary)}")


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command("correlate")(correlate)
    app.command("apply-proposal")(apply_proposal)
