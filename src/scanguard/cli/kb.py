"""`scanguard kb`: learn the device from published advisories (CSAF 2.0) and MDS2 forms.

    kb import PATH...      read documents, store what they say, draft profile changes
    kb review              list drafts (undecided by default) with their evidence
    kb accept DRAFT...     write drafts into the profiles (validated, compiled, rendered)
    kb reject DRAFT...     record that a person said no
    kb search TEXT         find imported advisories by vendor, product, CVE or id
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import ScanguardError
from ..kb import KnowledgeBase, accept as accept_draft, default_user, import_documents, reject as reject_draft
from ..kb.model import Advisory, Draft
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, compile_and_render_check, workspace
from .output import EXIT_INVALID, EXIT_OK, emit_json, err, fail, info, out, safe, warn

kb_app = typer.Typer(name="kb", help="Learn the device: draft profiles from advisories (CSAF 2.0) and MDS2 forms, "
                     "reviewed before they count.", no_args_is_help=True)
ByOpt = Annotated[Optional[str], typer.Option("--by", help="Who decides (default: $SCANGUARD_USER, else the login name).")]
NoteOpt = Annotated[str, typer.Option("--note", help="Why: recorded with the decision.")]


@kb_app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="CSAF 2.0 files or folders (searched for *.json), and MDS2 forms "
                                                "(.xlsx or .csv).")],
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Import advisories and MDS2 forms into the workspace's kb/ folder and draft profile changes
    from them. Documents are read one at a time; a bad one is reported with its path and skipped.
    Importing the same documents again changes nothing.

    Exit codes: 0 every document imported; 2 some could not be read (the others were imported)."""
    ws = workspace(workspace_)
    kb = KnowledgeBase(ws.root)
    try:
        with err.status("importing...") as status:
            report = import_documents(paths, kb, ws.profiles,
                                      progress=lambda p: status.update(f"importing {safe(p.name)}"))
    except ScanguardError as e:
        fail(str(e), e.exit_code)
    drafts = {d.id: d for d in kb.drafts()}
    new = [drafts[i] for i in report.new_drafts if i in drafts]
    code = EXIT_INVALID if report.problems else EXIT_OK
    if json_:
        emit_json({"command": "kb import", "status": "invalid" if code else "ok", "exit_code": code,
                   **({"error": f"{len(report.problems)} document(s) could not be read"} if code else {}),
                   "import": report.model_dump(mode="json"), "new_drafts": [_draft_json(d) for d in new]})
    else:
        for p in report.problems:
            warn(f"{p.path}: {p.message}; skipped")
        crash = sum(1 for i in (*report.imported, *report.updated) if (a := kb.load_advisory(i)) and a.crash())
        info(f"{report.documents} document(s): {len(report.imported)} imported, {len(report.updated)} updated, "
             f"{len(report.unchanged)} unchanged, {len(report.older)} older than the stored revision, "
             f"{len(report.problems)} skipped; {crash} say traffic takes the device down")
        info(f"{len(new)} new draft(s) ({sum(1 for d in new if d.target.profile)} for existing profiles); "
             "review them with `scanguard kb review`")
    raise typer.Exit(code)


@kb_app.command("review")
def review(
    status: Annotated[str, typer.Option("--status", help="draft (undecided), accepted, rejected or all.")] = "draft",
    profile: Annotated[Optional[str], typer.Option("--profile", help="Only drafts for this profile (or proposed "
                                                   "profile) id.")] = None,
    advisory: Annotated[Optional[str], typer.Option("--advisory", help="Only drafts from this advisory id.")] = None,
    existing: Annotated[bool, typer.Option("--existing", help="Only drafts for profiles the workspace has.")] = False,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """List drafts with their target profile, match score, change and the sentence they came from."""
    if status not in ("draft", "accepted", "rejected", "all"):
        fail(f"--status {status!r}: use draft, accepted, rejected or all", EXIT_INVALID)
    ws = workspace(workspace_, quiet=True)
    kb = KnowledgeBase(ws.root)
    try:
        drafts = [d for d in kb.drafts()
                  if (status == "all" or d.status == status)
                  and (profile is None or d.target.name() == profile)
                  and (advisory is None or d.advisory.upper() == advisory.upper())
                  and (not existing or d.target.profile)]
    except ScanguardError as e:
        fail(str(e), e.exit_code)
    drafts.sort(key=lambda d: (d.target.profile is None, d.target.name(), d.advisory, d.id))
    if json_:
        emit_json({"drafts": [_draft_json(d) for d in drafts]})
        return
    if not drafts:
        label = {"all": "", "draft": "undecided ", "accepted": "accepted ", "rejected": "rejected "}[status]
        info(f"no {label}drafts" + (" (import advisories with `scanguard kb import`)" if not (ws.root / "kb").exists()
                                    else ""))
        return
    for d in drafts:
        t = d.target
        where = f"profile {t.profile} (match {t.score:.2f}: {t.why})" if t.profile else \
            f"new profile {t.name()} ({t.new_profile.vendor} {t.new_profile.model})"  # type: ignore[union-attr]
        flag = " [already in the profile]" if d.covered and d.status == "draft" else ""
        out.print(f"[bold]{safe(d.id)}[/] {d.status}: {safe(d.summary())} -> {safe(where)}{safe(flag)}")
        out.print(f"  {safe(d.advisory)}{' ' + safe(', '.join(d.cves)) if d.cves else ''}: \"{safe(d.sentence)}\"")
        if d.url:
            out.print(f"  {safe(d.url)}")
        out.print(f"  basis: {safe(d.basis)}")
        for dec in d.decisions:
            out.print(f"  {dec.action} by {safe(dec.by)} at {dec.at.isoformat()}"
                      + (f": {safe(dec.note)}" if dec.note else "") + (f" ({safe(dec.file)})" if dec.file else ""))
    info(f"{len(drafts)} draft(s); decide with `scanguard kb accept ID` or `scanguard kb reject ID`")


@kb_app.command("accept")
def accept(
    drafts: Annotated[list[str], typer.Argument(help="Draft ids (or unique beginnings of them).")],
    by: ByOpt = None,
    note: NoteOpt = "",
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Accept drafts: each change is written into its profile's YAML (or a new profile file) with the
    advisory id, URL and sentence as reason and evidence; the workspace is validated, compiled and
    rendered afterwards, and on any problem nothing is changed. The decision is recorded."""
    _decide("accepted", drafts, by, note, workspace_, json_)


@kb_app.command("reject")
def reject(
    drafts: Annotated[list[str], typer.Argument(help="Draft ids (or unique beginnings of them).")],
    by: ByOpt = None,
    note: NoteOpt = "",
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Reject drafts: no profile changes; the decision (who, when, why) is recorded on the draft."""
    _decide("rejected", drafts, by, note, workspace_, json_)


def _decide(action: str, refs: list[str], by: str | None, note: str, workspace_: Path, json_: bool) -> None:
    ws = workspace(workspace_, quiet=True)
    who = by or default_user()
    done = []
    for ref in refs:
        try:
            if action == "accepted":
                d = accept_draft(ws.root, ref, by=who, note=note, validate=compile_and_render_check())
            else:
                d = reject_draft(ws.root, ref, by=who, note=note)
        except ScanguardError as e:
            fail(f"{ref}: {e}", e.exit_code)
        done.append(d)
        last = d.decisions[-1] if d.decisions else None
        if not json_ and last is not None:
            what = "" if action == "rejected" else (
                f" -> {safe(last.file or last.profile)} "
                + ("changed" if last.changed else "unchanged (the profile already holds it)"))
            info(f"{action[:-2]} {safe(d.id)}: {safe(d.summary())}{what}")
    if json_:
        emit_json({action: [_draft_json(d) for d in done]})


@kb_app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="Words to find in the vendor, product names, title, CVEs, CWEs or id.")],
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Find imported advisories by vendor, product or CVE (every word must match)."""
    ws = workspace(workspace_, quiet=True)
    kb = KnowledgeBase(ws.root)
    try:
        hits = [a for a in kb.advisories() if _matches(a, text)]
        drafts = list(kb.drafts())
    except ScanguardError as e:
        fail(str(e), e.exit_code)
    if json_:
        emit_json({"query": text, "advisories": [_advisory_json(a, drafts) for a in hits]})
        return
    if not hits:
        info(f"no imported advisory matches {safe(text)!r}")
        return
    table = Table(show_lines=False)
    for col in ("id", "title", "CVEs", "crash", "ports", "drafts"):
        table.add_column(col, overflow="fold")
    for a in hits:
        j = _advisory_json(a, drafts)
        table.add_row(safe(a.id), safe(a.title), safe(", ".join(a.cves[:4]) + (" ..." if len(a.cves) > 4 else "")),
                      "yes" if a.crash() else "no", safe(j["ports"]), str(len(j["drafts"])))
    out.print(table)


def _matches(a: Advisory, text: str) -> bool:
    hay = " ".join([a.id, a.title, *a.vendors, *(p.name for p in a.products), *(p.vendor for p in a.products),
                    *a.cves, *a.cwes]).lower()
    return all(w in hay for w in text.lower().split())


def _advisory_json(a: Advisory, drafts: list[Draft]) -> dict:
    ports = set()
    for f in a.findings:
        ports |= {x.strip() for x in f.port_set().text().split(",") if x.strip()}
    return {"id": a.id, "kind": a.kind, "title": a.title, "url": a.url, "vendors": list(a.vendors),
            "products": [p.model_dump(mode="json") for p in a.products], "cves": list(a.cves), "cwes": list(a.cwes),
            "crash": a.crash(), "ports": ", ".join(sorted(ports)),
            "drafts": [d.id for d in drafts if d.advisory == a.id]}


def _draft_json(d: Draft) -> dict:
    return {**d.model_dump(mode="json"), "summary": d.summary()}


def register(app: typer.Typer) -> None:
    """Add the `kb` command group to the app."""
    app.add_typer(kb_app, name="kb")
