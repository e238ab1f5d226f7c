"""`scanguard kb import`: read documents one at a time, store what was extracted, draft changes
against the workspace's profiles. A bad document is reported with its path and skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ScanguardError
from ..model.profile import DeviceProfile
from .csaf import CsafError, iter_paths, load_advisory
from .drafts import build_drafts
from .model import Advisory, ImportProblem, ImportReport
from .store import KnowledgeBase

MDS2_SUFFIXES = (".xlsx", ".csv")


def _newer(old: Advisory, new: Advisory) -> bool:
    """True when the stored revision is newer than the one being imported."""
    def key(a: Advisory) -> tuple:
        v = a.version
        return (int(v) if v.isdigit() else -1, a.released)
    return key(old) > key(new)


def _documents(paths: Iterable[str | Path]) -> Iterator[tuple[Path, object]]:
    """(path, Advisory or Mds2Document, or the error) for CSAF files and folders and MDS2 forms,
    one document at a time. Folders are searched for CSAF (.json) files; MDS2 forms are named."""
    from .mds2 import read_mds2

    for p in iter_paths(paths, suffixes=(".json",)):
        try:
            yield p, (read_mds2(p) if p.suffix.lower() in MDS2_SUFFIXES else load_advisory(p))
        except ScanguardError as e:
            yield p, e


def import_documents(paths: Iterable[str | Path], kb: KnowledgeBase, profiles: Iterable[DeviceProfile], *,
                     progress: Callable[[Path], None] | None = None) -> ImportReport:
    """Import CSAF 2.0 advisories (files or folders) and MDS2 forms (.xlsx, .csv) into `kb`,
    drafting changes against `profiles`. Idempotent: importing the same documents again leaves
    every file as it was."""
    from .mds2 import Mds2Document

    profiles = list(profiles)
    rep: dict[str, list] = {k: [] for k in ("imported", "updated", "unchanged", "older", "new_drafts", "problems")}
    n = 0
    for path, item in _documents(paths):
        n += 1
        if progress is not None:
            progress(path)
        if isinstance(item, ScanguardError):
            where = getattr(item, "path", str(path))
            msg = str(item)
            if isinstance(item, CsafError) and msg.startswith(f"{where}: "):
                msg = msg[len(where) + 2:]
            rep["problems"].append(ImportProblem(path=str(where), message=msg))
            continue
        extra = []
        if isinstance(item, Mds2Document):
            advisory, extra = item.advisory, item.proposals
        else:
            assert isinstance(item, Advisory)
            advisory = item
        stored = kb.load_advisory(advisory.id)
        if stored is not None and _newer(stored, advisory):
            rep["older"].append(advisory.id)
            continue
        rep[kb.save_advisory(advisory)].append(advisory.id)
        rep["new_drafts"] += kb.merge_drafts(advisory.id, build_drafts(advisory, profiles, extra=extra))
    return ImportReport(documents=n, **{k: tuple(v) for k, v in rep.items()})
