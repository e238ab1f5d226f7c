"""What a vendor's client offers the sync engine: managed objects on a live scanner.

Every object scanguard writes is marked as managed, with the hash of what was rendered, so
that a later run can tell "unchanged", "planned change" and "edited by hand" (drift) apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Protocol, runtime_checkable

from .model.base import Model

MARKER_PREFIX = "scanguard:managed"
_MARKER_RE = re.compile(r"scanguard:managed(?: name=(?P<name>\S+))? sha256=(?P<hash>[0-9a-f]{64})")


def canonical_json(payload: Any) -> str:
    """The one serialisation hashes are taken over: sorted keys, no spaces."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def payload_hash(payload: Any) -> str:
    """sha256 of the canonical JSON of a rendered payload."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def managed_marker(name: str, digest: str) -> str:
    """The marker written into a managed object's description (or comment)."""
    return f"{MARKER_PREFIX} name={name} sha256={digest}"


def parse_marker(text: str | None) -> tuple[str | None, str] | None:
    """(name, hash) from a description carrying the marker, else None (not managed)."""
    if not text:
        return None
    m = _MARKER_RE.search(text)
    if not m:
        return None
    return m.group("name"), m.group("hash")


class RemoteObject(Model):
    """A template-like object as it lives on a scanner.

    `payload` is the vendor's native document as read back (normalised by the adapter so it is
    comparable with what render produces); `marker_hash` is the hash written when scanguard last
    pushed it, None when the object is not managed by scanguard."""

    remote_id: str
    name: str
    payload: Any = None
    marker_hash: str | None = None
    managed: bool = False


@runtime_checkable
class ScannerClient(Protocol):
    """The operations the sync engine needs from a scanner. Methods raise
    scanguard.errors.ScannerError (transient=True for what a retry may fix)."""

    scanner: str

    def list_managed(self) -> list[RemoteObject]:
        """Every object on the scanner whose name or marker says scanguard manages it
        (and any unmanaged object whose name collides with a managed name)."""

    def read(self, remote_id: str) -> RemoteObject:
        """The whole object, payload included."""

    def create(self, name: str, payload: Any, marker: str) -> str:
        """Create the object; returns its remote id."""

    def update(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Replace the object's content; returns the remote id now in force (a vendor that
        cannot edit objects in use may create a new version and repoint)."""

    def delete(self, remote_id: str) -> None:
        """Delete the object."""


@runtime_checkable
class ExclusionClient(Protocol):
    """What the sync engine needs from a client whose vendor keeps scanner-side exclusions
    (`Vendor.exclusions`, not an artifact). Objects are named by the exclusion document they
    hold; methods raise scanguard.errors.ScannerError (transient=True for what a retry may fix).

    A vendor whose exclusions live in objects the scanner already has (InsightVM sites) lists
    each of them under the document's name, with `managed` True and no marker (the engine then
    judges by coverage, and tells drift from a planned change by the state database)."""

    scanner: str

    def list_exclusions(self) -> list[RemoteObject]:
        """Every object holding (or meant to hold) a scanguard exclusion document, payloads included."""

    def read_exclusion(self, remote_id: str) -> RemoteObject:
        """One such object as it is now (read back after a write)."""

    def create_exclusion(self, name: str, payload: Any, marker: str) -> str:
        """Make a new exclusion object (only vendors whose support `creates`); returns its id."""

    def update_exclusion(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Bring the object to block at least what `payload` blocks (a vendor whose objects
        people also edit keeps what they added); returns the id now in force."""

    def delete_exclusion(self, remote_id: str) -> None:
        """Delete an exclusion object."""
