"""`scanguard scorecard ID`: the device owner's scorecard of the latest trial of a profile."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..scorecard import SCORECARD_SCHEMA, build_scorecard, scorecard_json, write_scorecard
from ..suggest import unknown
from ..sync.state import StateDB
from ..trial.store import latest_trial, trial_by_id
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_INVALID, emit_json, fail, info, out, safe

FORMATS = ("html", "md", "json")


def scorecard(
    profile: Annotated[str, typer.Argument(help="The profile id of the device.")],
    format_: Annotated[str, typer.Option("--format", help="html (self-contained, with the timeline picture), md "
                                         "(with a PNG beside it) or json.")] = "html",
    out_path: Annotated[Optional[Path], typer.Option("--out", help="Where to write it (default: "
                                                     "out/scorecards/ID.FORMAT under the workspace; json without "
                                                     "--out goes to stdout).")] = None,
    trial_id: Annotated[Optional[int], typer.Option("--trial", help="A trial id (default: the profile's latest).")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Write the scorecard of a device's latest trial for its owner: the device, the stages and
    their outcomes, what failed and why, how it recovered, the exclusions now in force and on
    which scanners, residual risk and compensating controls, and a timeline of health against
    scan activity. Exit codes: 0 written; 2 no such profile or no trial of it."""
    if format_ not in FORMATS:
        fail(f"--format {format_!r}: choose one of {', '.join(FORMATS)}", EXIT_INVALID)
    ws = workspace(workspace_, quiet=True)
    if ws.profile(profile) is None:
        fail(unknown("profile", profile, [p.id for p in ws.profiles], listed="profiles"), EXIT_INVALID)
    with StateDB(ws.state_path()) as db:
        trial = trial_by_id(db, trial_id) if trial_id is not None else latest_trial(db, profile)
    if trial is None or trial.profile != profile:
        fail(f"no trial of {profile!r} in {ws.state_path()}; run `scanguard trial --profile {profile} --target ADDRESS` "
             "first", EXIT_INVALID)
    card = run_guarded(build_scorecard, ws, trial, plugins())
    if format_ == "json" and out_path is None:
        sys.stdout.write(json.dumps({"schema_version": SCORECARD_SCHEMA, **scorecard_json(card)}, indent=2) + "\n")
        return
    path = out_path or (ws.root / "out" / "scorecards" / f"{profile}.{format_}")
    files = write_scorecard(card, format_, path)  # type: ignore[arg-type]
    if json_:
        emit_json({"profile": profile, "trial": trial.id, "outcome": trial.outcome, "files": [str(f) for f in files]})
        return
    for f in files:
        out.print(str(f))
    info(f"scorecard of {safe(profile)} (trial {trial.id}, {trial.outcome}) written")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("scorecard")(scorecard)
