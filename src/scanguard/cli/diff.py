"""`scanguard diff`: what a sync would change, per scanner and object; writes nothing.

Drift (objects edited on a scanner) is shown apart from planned changes. Exit codes: 0 nothing
unexpected; 3 drift found; 1 a scanner could not be read; 2 configuration invalid.
"""

from __future__ import annotations


import typer

from ..errors import ScanguardError
from ..sync.engine import SyncEngine, SyncOptions, tls_warnings
from ..sync.models import Action, ScannerDiff
from ..sync.state import StateDB
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, workspace
from .output import (EXIT_FAILURE, EXIT_INVALID, EXIT_OK, EXIT_SAFETY, emit_json, err, fail, failure_fields, info, out,
                     safe, scanner_error, warn)
from .sync import ScannerOpt, VerboseOpt, setup_logging

SIGNS = {"create": ("+", "green"), "update": ("~", "yellow"), "drift": ("!", "bold red"), "unchanged": ("=", "dim"),
         "conflict": ("?", "red"), "duplicate": ("-", "red"), "orphan": ("·", "dim"), "retire": ("x", "bold red")}
WORDS = {"create": "create", "update": "update (planned change)", "drift": "DRIFT: edited on the scanner; restore",
         "unchanged": "unchanged", "conflict": "CONFLICT: exists, not managed by scanguard; left alone",
         "duplicate": "duplicate of a managed object; delete once the kept copy is verified",
         "orphan": "nothing asks for it any more, and it is still safe; left in place",
         "retire": "RETIRE: the plan can no longer vouch for it; to be made unusable on the scanner"}


def diff_exit_code(diffs: list[ScannerDiff]) -> int:
    """2 when a scanner's configuration cannot work (a credential not set), else 1 when a scanner
    could not be compared, else 3 when drift was found, a template must be retired or cannot be
    rendered safely, else 0."""
    if any(d.invalid for d in diffs):
        return EXIT_INVALID
    if any(d.error for d in diffs):
        return EXIT_FAILURE
    if any(d.count("drift") or d.count("retire") or d.refused for d in diffs):
        return EXIT_SAFETY
    return EXIT_OK


def diff_status(diffs: list[ScannerDiff], code: int) -> str:
    """"ok", "invalid" (exit 2), "error" (exit 1), or what makes it a safety finding: "drift",
    "retire" or "refused" (exit 3)."""
    if code in (EXIT_OK, EXIT_INVALID, EXIT_FAILURE):
        return {EXIT_OK: "ok", EXIT_INVALID: "invalid", EXIT_FAILURE: "error"}[code]
    return next(k for k in ("drift", "retire") if any(d.count(k) for d in diffs)) \
        if any(d.count("drift") or d.count("retire") for d in diffs) else "refused"


def summary_line(diffs: list[ScannerDiff]) -> str:
    """"2 to create, 1 to update, 1 drift to restore, 0 conflicts, 5 unchanged"."""
    def n(kind: str) -> int:
        return sum(d.count(kind) for d in diffs)

    parts = [f"{n('create')} to create", f"{n('update')} to update", f"{n('drift')} drift to restore",
             f"{n('unchanged')} unchanged"]
    for kind, word in (("retire", "to retire"), ("conflict", "conflict(s)"), ("duplicate", "duplicate(s)"),
                       ("orphan", "orphan(s)")):
        if n(kind):
            parts.append(f"{n(kind)} {word}")
    refused = sum(len(d.refused) for d in diffs)
    if refused:
        parts.append(f"{refused} refused as unsafe")
    failed = sum(1 for d in diffs if d.error)
    if failed:
        parts.append(f"{failed} scanner(s) failed")
    return ", ".join(parts)


def _action_doc(a: Action) -> dict:
    return {"object": a.name, "action": a.kind, "remote_id": a.remote_id, "desired_hash": a.desired_hash,
            "marker_hash": a.marker_hash, "live_hash": a.live_hash, "writes": a.writes,
            "less_safe": list(a.weaker), "changes": list(a.changes)}


def _print_action(a: Action) -> None:
    sign, style = SIGNS[a.kind]
    rid = f" (id {safe(a.remote_id)})" if a.remote_id else ""
    out.print(f"  [{style}]{sign} {safe(a.name)}[/]{rid}: {WORDS[a.kind]}")
    for w in a.weaker:
        label = "why" if a.kind == "retire" else "live is less safe"
        out.print(f"      [red]{label}:[/] {safe(w)}")
    for c in a.changes:
        out.print(f"      {safe(c)}")


def _print_human(diffs: list[ScannerDiff]) -> None:
    for d in diffs:
        out.print(f"[bold]scanner {safe(d.scanner)}[/] ({d.vendor})")
        if d.error:  # once, on stderr, where it falls among the scanners on a terminal
            err.print(f"  [red]error[/] {safe(scanner_error(d.scanner, d.error))}")
        if d.skipped:
            out.print(f"  [dim]skipped: {safe(d.skipped)}[/]")
        for why in d.refused:
            out.print(f"  [bold red]refused (not pushed):[/] {safe(why.message)}")
        drift = [a for a in d.actions if a.kind == "drift"]
        retire = [a for a in d.actions if a.kind == "retire"]
        rest = [a for a in d.actions if a.kind not in ("drift", "retire")]
        if drift:
            out.print("  [bold red]drift (changed on the scanner since scanguard pushed it):[/]")
            for a in drift:
                _print_action(a)
        if retire:
            out.print("  [bold red]live but no longer safe to keep (sync retires them):[/]")
            for a in retire:
                _print_action(a)
        if rest:
            if drift or retire:
                out.print("  planned:")
            for a in rest:
                _print_action(a)
        if not d.actions and not d.error and not d.skipped:
            out.print("  (nothing managed here)")
    info(summary_line(diffs))


def diff(
    scanner: ScannerOpt = None,
    verbose: VerboseOpt = 0,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Show what `scanguard sync` would change on each scanner, drift apart from planned changes."""
    setup_logging(verbose)
    ws = workspace(workspace_, quiet=True)
    for p in ws.warnings:
        if not p.field.endswith("tls.verify"):
            warn(p.text())
    state = None
    try:
        # what scanguard last pushed tells drift from a planned change where a scanner keeps no marker
        state = StateDB(ws.state_path()) if ws.state_path().is_file() else None
        engine = SyncEngine(ws, plugins(), options=SyncOptions(scanners=tuple(scanner or ())), state=state)
        for w in tls_warnings(engine.scanners.values()):
            warn(w)
        diffs = engine.diff()
    except ScanguardError as e:
        fail(str(e), EXIT_INVALID if e.exit_code in (2, 3) else EXIT_FAILURE)
    finally:
        if state is not None:
            state.close()
    code = diff_exit_code(diffs)
    if json_:
        emit_json({
            "command": "diff",
            "status": diff_status(diffs, code),
            "exit_code": code,
            "summary": summary_line(diffs),
            "scanners": [
                {"scanner": d.scanner, "vendor": d.vendor, "error": d.error, "skipped": d.skipped,
                 "refused": [{"object": i.object, "message": i.message} for i in d.refused],
                 "counts": {k: d.count(k) for k in SIGNS},
                 "objects": [_action_doc(a) for a in d.actions]}
                for d in diffs
            ],
        })
    else:
        _print_human(diffs)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("diff")(diff)
    failure_fields("diff", scanners=[])
