"""Where the knowledge base lives: a kb/ folder in the workspace, next to profiles/, so that what
was learned and what was decided is reviewed in git like everything else.

    kb/advisories/ICSA-18-254-05.json   what scanguard read from the advisory (products, versions,
                                        CVEs, CWEs, findings with their sentences), and the
                                        source file's sha256
    kb/drafts/ICSA-18-254-05.yaml       the drafts made from it, each with its status and every
                                        decision (who, when, what it changed)

Compile never reads kb/: a draft counts only once a person accepts it, and accepting writes
the change into the profile's YAML (scanguard.kb.decide). Files are written only when their
content changes, so importing the same documents again changes nothing (idempotent).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

import yaml
from pydantic import ValidationError

from ..errors import ScanguardError
from ..yamlsrc import YAMLSourceError
from ..yamlsrc import parse as parse_yaml
from .model import Advisory, Draft

SCHEMA_VERSION = 1
KB_DIR = "kb"
# libyaml when present: import writes every drafts file
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_HEADER = ("# scanguard knowledge base: drafts from {id}. Compile ignores them until a person accepts one:\n"
           "#   scanguard kb review --advisory {id}\n#   scanguard kb accept DRAFT-ID | scanguard kb reject DRAFT-ID\n")


class KbError(ScanguardError):
    """The knowledge base cannot be read or a draft does not exist; the message names the file."""

    exit_code = 2


def _safe_name(advisory_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", advisory_id).strip("._")
    if not name:
        raise KbError(f"advisory id {advisory_id!r} cannot name a file")
    return name


def _write(path: Path, text: str) -> bool:
    """Write atomically when the content differs; True when it did."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _plain(d: Draft) -> dict:
    """A draft as a reviewer reads it: no empty fields."""
    data = d.model_dump(mode="json", exclude_none=True)
    data["change"] = {k: v for k, v in data["change"].items() if v != []}
    return data


class KnowledgeBase:
    """The kb/ folder of one workspace."""

    def __init__(self, workspace_root: str | Path):
        self.root = Path(workspace_root) / KB_DIR

    # -- advisories -------------------------------------------------------------------------------
    def advisory_path(self, advisory_id: str) -> Path:
        """kb/advisories/ID.json."""
        return self.root / "advisories" / f"{_safe_name(advisory_id)}.json"

    def load_advisory(self, advisory_id: str) -> Advisory | None:
        """The stored advisory, or None."""
        path = self.advisory_path(advisory_id)
        return self._read_advisory(path) if path.exists() else None

    def _read_advisory(self, path: Path) -> Advisory:
        try:
            return Advisory.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as e:
            raise KbError(f"{path}: not a knowledge-base advisory record: {str(e).splitlines()[0]}") from None

    def save_advisory(self, advisory: Advisory) -> str:
        """Store an advisory: "imported", "updated" or "unchanged"."""
        path = self.advisory_path(advisory.id)
        existed = path.exists()
        text = json.dumps(advisory.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
        if not _write(path, text):
            return "unchanged"
        return "updated" if existed else "imported"

    def advisories(self) -> Iterator[Advisory]:
        """Every stored advisory, by id."""
        folder = self.root / "advisories"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            yield self._read_advisory(path)

    # -- drafts ------------------------------------------------------------------------------------
    def drafts_path(self, advisory_id: str) -> Path:
        """kb/drafts/ID.yaml."""
        return self.root / "drafts" / f"{_safe_name(advisory_id)}.yaml"

    def load_drafts(self, advisory_id: str) -> list[Draft]:
        """The drafts of one advisory (none when there is no file)."""
        path = self.drafts_path(advisory_id)
        return self._read_drafts(path) if path.exists() else []

    def _read_drafts(self, path: Path) -> list[Draft]:
        try:  # read like every workspace file: YAML 1.2, no aliases (a drafts file is edited by hand)
            data = parse_yaml(path.read_text(encoding="utf-8")).data or {}
        except (OSError, UnicodeDecodeError) as e:
            raise KbError(f"{path}: cannot read the drafts: {e}") from None
        except YAMLSourceError as e:
            raise KbError(f"{path}:{e.line or 1}: cannot read the drafts: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("drafts", []), list):
            raise KbError(f"{path}: not a drafts file (no 'drafts' list)")
        if int(data.get("schema_version", SCHEMA_VERSION)) > SCHEMA_VERSION:
            raise KbError(f"{path}: schema_version {data['schema_version']} is newer than this scanguard reads")
        out = []
        for i, item in enumerate(data.get("drafts") or []):
            try:
                out.append(Draft.model_validate(item))
            except ValidationError as e:
                err = e.errors(include_url=False)[0]
                where = ".".join(str(x) for x in err["loc"])
                raise KbError(f"{path}: drafts[{i}].{where}: {err['msg']}") from None
        return out

    def save_drafts(self, advisory_id: str, drafts: list[Draft]) -> bool:
        """Write the drafts of one advisory; True when the file changed."""
        doc = {"schema_version": SCHEMA_VERSION, "advisory": advisory_id, "drafts": [_plain(d) for d in drafts]}
        text = _HEADER.format(id=advisory_id) + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
        return _write(self.drafts_path(advisory_id), text)

    def merge_drafts(self, advisory_id: str, fresh: list[Draft]) -> list[str]:
        """Replace the undecided drafts of an advisory by `fresh` ones, keeping every decision
        already made (a draft decided before keeps its status and history). Returns the ids of
        drafts that are new."""
        old = {d.id: d for d in self.load_drafts(advisory_id)}
        merged: list[Draft] = []
        added: list[str] = []
        for d in fresh:
            before = old.pop(d.id, None)
            if before is None:
                added.append(d.id)
                merged.append(d)
            else:
                merged.append(d.model_copy(update={"status": before.status, "decisions": before.decisions}))
        merged += [d for d in old.values() if d.status != "draft"]  # decided drafts stay on record
        if merged or self.drafts_path(advisory_id).exists():
            self.save_drafts(advisory_id, merged)
        return added

    def drafts(self) -> Iterator[Draft]:
        """Every draft of every advisory."""
        folder = self.root / "drafts"
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            yield from self._read_drafts(path)

    def find_draft(self, ref: str) -> Draft:
        """The draft with this id, or the only one whose id starts with it; KbError otherwise."""
        ref = ref.strip().lower()
        every = list(self.drafts())
        hits = [d for d in every if d.id == ref] or [d for d in every if d.id.startswith(ref)]
        if not hits:
            raise KbError(f"no draft {ref!r} in {self.root} (list them with `scanguard kb review`)")
        if len(hits) > 1:
            raise KbError(f"{ref!r} names {len(hits)} drafts ({', '.join(d.id for d in hits[:5])}...): give more of the id")
        return hits[0]

    def replace_draft(self, draft: Draft) -> None:
        """Store a changed draft (its status and decisions) in its advisory's file."""
        drafts = self.load_drafts(draft.advisory)
        self.save_drafts(draft.advisory, [draft if d.id == draft.id else d for d in drafts])
