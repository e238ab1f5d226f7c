"""The load cache: what each valid workspace file holds, keyed by a hash of its content, so that
a file that has not changed is never parsed again.

One JSON file per workspace in the workspace's state folder (next to the state database):

    <state folder>/cache/load-<hash of the workspace path>.json

line 1: {"format", "fingerprint", "digest"}; then one line per entry: "<kind>:<sha256 of the
file>", a tab, and the document as compact JSON (one line: JSON writes a newline inside a string
as \n). The document is validated from its JSON text (pydantic reads it without building the
plain data first: 20,000 documents decoded as dictionaries took 70 MB, as text 12 MB).

- an entry is found only by the SHA-256 of the file's bytes as read now: an edited file misses,
  whatever its name, size or modification time;
- the fingerprint covers scanguard's version and the source of everything that reads and
  validates workspace files: another version, or an edited model, starts an empty cache;
- a cache whose body does not match its digest (truncated, edited, half-written) is ignored and
  rewritten; the file is replaced atomically, so a reader never sees a half-written one;
- an entry is the plain data of a document that validated (JSON: no code can run from it), and
  it is validated again on every load: the cache spares the parsing, which is the slow part, and
  can never make the loader accept what the file would not give (an entry that does not
  validate is set aside and the file read and parsed);
- deleting the folder is always safe; `SCANGUARD_LOAD_CACHE=off` disables it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = 2
ENV_SWITCH = "SCANGUARD_LOAD_CACHE"
_SOURCES = ("yamlsrc.py", "loadcache.py", "workspace.py", "model")


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Changes whenever scanguard's version, the cache format, Python, pydantic, or the source of
    the code that reads and validates workspace files changes."""
    import pydantic_core

    from . import __version__

    h = hashlib.sha256(f"{FORMAT}|{__version__}|{sys.version}|{pydantic_core.__version__}".encode())
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        target = here / name
        files = sorted(target.glob("*.py")) if target.is_dir() else [target]
        for f in files:
            h.update(f.name.encode())
            try:
                h.update(f.read_bytes())
            except OSError:  # an install without sources: the version alone must do
                h.update(b"?")
    return h.hexdigest()


def content_hash(data: bytes) -> str:
    """The key of a file's content."""
    return hashlib.sha256(data).hexdigest()


class LoadCache:
    """The cache of one workspace; `get` and `put` during a load, `save` at its end."""

    def __init__(self, path: Path | None, entries: dict[str, Any] | None = None) -> None:
        self.path = path
        self._old = entries or {}
        self._new: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def disabled(cls) -> "LoadCache":
        """A cache that holds nothing and writes nothing."""
        return cls(None)

    @classmethod
    def for_workspace(cls, root: Path, state_dir: Path) -> "LoadCache":
        """The cache of the workspace at `root`, read from its state folder (empty when there is
        none, or it cannot be read, or it is corrupt or from another version)."""
        if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "no", "false"):
            return cls.disabled()
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        path = state_dir / "cache" / f"load-{key}.json"
        return cls(path, _read(path))

    def get(self, kind: str, digest: str) -> str | None:
        """The document stored for a file of this kind and content hash, as JSON text, or None."""
        key = f"{kind}:{digest}"
        doc = self._old.get(key)
        if doc is None:
            self.misses += 1
            return None
        self.hits += 1
        self._new[key] = doc
        return doc

    def digests(self, kind: str) -> frozenset[str]:
        """The content hashes of the files of this kind the cache holds a document for."""
        prefix = f"{kind}:"
        return frozenset(k[len(prefix):] for k in self._old if k.startswith(prefix))

    def put(self, kind: str, digest: str, doc: Any) -> None:
        """Remember the document (plain data) of a file that validated."""
        self._new[f"{kind}:{digest}"] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def save(self) -> None:
        """Write the entries used by this load (nothing else: entries of files since edited or
        removed go) when they differ from what was read. A cache that cannot be written is
        only slower, never an error."""
        if self.path is None or self._new.keys() == self._old.keys():
            return
        body = "\n".join(f"{key}\t{text}" for key, text in self._new.items()).encode()
        head = json.dumps({"format": FORMAT, "fingerprint": fingerprint(),
                           "digest": hashlib.sha256(body).hexdigest()})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".load-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(head.encode() + b"\n" + body)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            log.debug("load cache %s not written: %s", self.path, e)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    try:
        head_raw, _, body = raw.partition(b"\n")
        head = json.loads(head_raw)
        if (not isinstance(head, dict) or head.get("format") != FORMAT or head.get("fingerprint") != fingerprint()
                or head.get("digest") != hashlib.sha256(body).hexdigest()):
            log.debug("load cache %s is stale or corrupt: rebuilt", path)
            return {}
        entries: dict[str, Any] = {}
        for line in body.decode("utf-8").split("\n") if body else ():
            key, tab, text = line.partition("\t")
            if not tab:
                raise ValueError("an entry without its tab")
            entries[key] = text
        return entries
    except (ValueError, KeyError, TypeError):
        log.debug("load cache %s is unreadable: rebuilt", path)
        return {}
