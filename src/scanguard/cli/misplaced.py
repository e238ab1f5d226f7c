"""`scanguard find-misplaced EXPORT...`: profiled devices recognised by their fingerprint where
their profile does not place them, and hosts in a profile's location that no longer look like
the device."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..misplaced import MisplacedReport, find_misplaced, findings, why_not
from ..proposal import proposals_from, write_proposals
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_INVALID, EXIT_OK, EXIT_SAFETY, emit_json, fail, info, out, safe, warn


def find_misplaced_cmd(
    exports: Annotated[list[Path], typer.Argument(help="Scan exports: nmap -oX, .nessus, GVM report XML, "
                                                  "InsightVM XML (NexposeReport); the vendor is told from "
                                                  "each file's root element.")],
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Read every export with this vendor's "
                                                  "parser instead of telling it from the file.")] = None,
    propose: Annotated[Optional[Path], typer.Option("--propose", help="Write the location changes (the "
                                                    "address of each misplaced device added to its "
                                                    "profile, with the evidence) to FILE for "
                                                    "`scanguard apply-proposal FILE`.")] = None,
    format_: Annotated[Optional[str], typer.Option("--format", help="Write the findings in a report format "
                                                   "(json, defectdojo, ...) on stdout.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Recognise profiled devices by their fingerprint in scan exports of any vendor: hosts that
    match a profile outside its location (misplaced: a scan that does not know them may hurt
    them), and hosts inside a profile's location that cannot match it (replaced or moved).
    Hosts the exports cannot judge are listed as unverified, never as fine.

    Exit codes: 0 nothing found; 2 invalid input (workspace, flags, a missing, malformed or
    hostile file); 3 misplaced or changed devices found."""
    for path in exports:
        if not path.is_file():
            fail(f"{path}: no such file", EXIT_INVALID)
    ws = workspace(workspace_)
    pm = plugins()
    formats = pm.report_formats() if format_ else {}
    if format_ and format_ not in formats:
        fail(f"unknown format {format_!r}; known: {', '.join(formats)}", EXIT_INVALID)
    report: MisplacedReport = run_guarded(find_misplaced, exports, ws.profiles, run_guarded(pm.vendors), vendor=vendor)
    found = findings(report, ws.profiles)
    proposals = proposals_from(found)
    if propose is not None:
        write_proposals(proposals, propose)
        info(f"wrote {len(proposals)} proposal(s) to {safe(propose)}; apply with "
             f"`scanguard apply-proposal {safe(propose)}`")
    if format_:
        run_guarded(pm.write_report, format_, found, sys.stdout)  # a failing format names its plugin
    elif json_:
        emit_json({
            "exports": [e.model_dump(mode="json") for e in report.exports],
            "misplaced": [s.model_dump(mode="json") for s in report.misplaced],
            "changed": [s.model_dump(mode="json") for s in report.changed],
            "unverified": [s.model_dump(mode="json") for s in report.unverified],
            "unrecognisable_profiles": list(report.unrecognisable),
            "findings": [f.model_dump(mode="json") for f in found],
            "proposals": [p.model_dump(mode="json") for p in proposals],
        })
    else:
        _print(report)
    raise typer.Exit(EXIT_SAFETY if report.has_findings else EXIT_OK)


def _print(report: MisplacedReport) -> None:
    hosts = sum(e.hosts for e in report.exports)
    silent = sum(e.hosts_without_evidence for e in report.exports)
    for s in report.misplaced:
        out.print(f"[bold]{safe(s.address)}[/]{safe(f' ({s.hostname})' if s.hostname else '')} looks like "
                  f"[bold]{safe(s.profile)}[/] ({safe(s.profile_name)}) outside its location: score "
                  f"{s.score} of {s.threshold} needed, policy {s.policy}")
        _lines("+", s.evidence)
        _lines(" ", tuple(f"also matches {p}" for p in s.also_matches) + tuple(f"in {e}" for e in s.exports))
    for s in report.changed:
        out.print(f"[bold]{safe(s.address)}[/]{safe(f' ({s.hostname})' if s.hostname else '')} lies in "
                  f"[bold]{safe(s.profile)}[/]'s location but cannot be that device ({why_not(s)}): "
                  "replaced or moved?")
        _lines("-", s.contradictions)
        _lines("+", s.evidence)
        _lines(" ", tuple(f"in {e}" for e in s.exports))
    for s in report.unverified:
        warn(f"{s.address} lies in {s.profile}'s location but the exports cannot tell whether it is that device "
             f"(score {s.score}, {s.threshold} needed, at most {s.potential} reachable)")
    if report.unrecognisable:
        warn(f"{len(report.unrecognisable)} profile(s) cannot be recognised elsewhere (no fingerprint, or open ports "
             f"only, which identify no device): {', '.join(report.unrecognisable)}")
    if silent:
        warn(f"{silent} of {hosts} host(s) carried no evidence to match (no open port, service, OS or MAC)")
    head = f"{hosts} host(s) in {len(report.exports)} export(s)"
    if report.has_findings:
        info(f"{head}: {len(report.misplaced)} misplaced, {len(report.changed)} changed, "
             f"{len(report.unverified)} unverified")
    elif report.unverified or report.unrecognisable or silent:
        info(f"{head}: no misplaced or changed device found, but not everything could be judged (see above)")
    else:
        info(f"[green]no misplaced or changed device[/]: {head}")


def _lines(mark: str, lines: tuple[str, ...]) -> None:
    for line in lines:
        out.print(f"  {mark} {safe(line)}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("find-misplaced")(find_misplaced_cmd)
