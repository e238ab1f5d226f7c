"""A person's decision on a draft. Accepting writes the change into the profile's YAML (the profile
files stay the source of truth: compile, explain and git see the constraint with its reason and
evidence), or writes a new profile when the draft proposes one; the workspace is validated (and,
with `validate`, compiled and rendered) afterwards and every file is restored on any problem.
Either decision is recorded on the draft: who, when, and what it changed."""

from __future__ import annotations

import getpass
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import yaml

from ..errors import WorkspaceError
from ..proposal import Proposal, apply_proposals, edit_profile_text, verify_workspace
from ..workspace import Workspace, check_workspace
from .drafts import covered_by
from .model import Decision, Draft, NewProfile
from .store import KbError, KnowledgeBase

Validate = Callable[[Workspace], None]


def default_user() -> str:
    """Who decides when --by is not given: $SCANGUARD_USER, else the login name."""
    return os.environ.get("SCANGUARD_USER") or getpass.getuser()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _new_profile_text(p: NewProfile, advisory: str, url: str) -> str:
    head = (f"# Drafted by `scanguard kb accept` from {advisory}{f' ({url})' if url else ''}.\n"
            "# Fill in location (hosts, CIDRs) and owner: until then its constraints apply to every general\n"
            "# template, wherever this device may be.\n")
    body = {"id": p.id, "name": p.name, "vendor": p.vendor, "model": p.model}
    if p.firmware:
        body["firmware"] = p.firmware
    body["category"] = "other"
    return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def accept(workspace_root: str | Path, ref: str, *, by: str, note: str = "",
           validate: Validate | None = None) -> Draft:
    """Accept a draft: add its change to the target profile (or write the proposed profile), then
    record the decision. Raises KbError / ProposalError / WorkspaceError, changing nothing."""
    root = Path(workspace_root)
    kb = KnowledgeBase(root)
    draft = kb.find_draft(ref)
    if draft.status == "accepted":
        return draft
    ws, problems = check_workspace(root)
    if ws is None:
        raise WorkspaceError(problems.items)
    target_id = draft.target.name()
    profile = ws.profile(target_id)
    if draft.target.profile and profile is None:
        raise KbError(f"draft {draft.id} is for profile {target_id!r}, which the workspace no longer has; "
                      "import the advisory again to redraft it")
    change = draft.change.model_copy(update={"profile": target_id})
    if profile is not None:
        file = root / ws.source_of(f"profile:{target_id}")
        if covered_by(profile, change):
            changed = False
        else:
            [applied] = apply_proposals([Proposal(change=change)], root, validate=validate)
            changed = applied.changed
    else:
        assert draft.target.new_profile is not None
        file = root / "profiles" / f"{target_id}.yaml"
        _write_new_profile(root, file, draft, change, validate)
        changed = True
    decision = Decision(action="accepted", by=by, at=_now(), note=note, profile=target_id,
                        file=str(file.relative_to(root)) if file.is_relative_to(root) else str(file), changed=changed)
    done = draft.model_copy(update={"status": "accepted", "decisions": draft.decisions + (decision,)})
    kb.replace_draft(done)
    return done


def _write_new_profile(root: Path, file: Path, draft: Draft, change, validate: Validate | None) -> None:
    assert draft.target.new_profile is not None
    if file.exists():
        raise KbError(f"{file} already exists but holds no profile {draft.target.name()!r}; "
                      "rename one of them and accept again")
    text, _ = edit_profile_text(_new_profile_text(draft.target.new_profile, draft.advisory, draft.url), change,
                                source=str(file))
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    try:
        verify_workspace(root, validate)
    except BaseException:
        file.unlink(missing_ok=True)
        raise


def reject(workspace_root: str | Path, ref: str, *, by: str, note: str = "") -> Draft:
    """Reject a draft: nothing changes in the profiles; the decision is recorded."""
    kb = KnowledgeBase(Path(workspace_root))
    draft = kb.find_draft(ref)
    if draft.status == "accepted":
        last = draft.decisions[-1] if draft.decisions else None
        who = f" by {last.by} on {last.at:%Y-%m-%d}" if last else ""
        raise KbError(f"draft {draft.id} was accepted{who}: its change is in the profile; remove it there "
                      "(git revert) rather than rejecting it now")
    decision = Decision(action="rejected", by=by, at=_now(), note=note, profile=draft.target.name())
    done = draft.model_copy(update={"status": "rejected", "decisions": draft.decisions + (decision,)})
    kb.replace_draft(done)
    return done
