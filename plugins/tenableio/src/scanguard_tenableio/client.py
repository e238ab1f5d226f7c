"""The Tenable Vulnerability Management client: policies through the policies client Nessus and
Tenable VM share (`scanguard_tenable_policy.PolicyClient`: Tenable VM answers `/policies`,
`/editor/policy/...`, `/policies/{id}/export` and `/plugins/plugin/{id}` as Nessus does), and
scanguard's scanner-side exclusions as Tenable VM exclusions (`/exclusions`).

One exclusion document may need several exclusions on the scanner (one per span of time it
blocks); the client finds them by scanguard's marker in their description, keeps those that are
already right, rewrites in place only into something that blocks at least as much, creates what is
missing and deletes what is left over, in that order: nothing is blocked less while it writes, and
a write retried after a failure finds what the first attempt made. Time zones are checked against
the scanner's own list (`GET /scans/timezones`) before anything is written.
"""

from __future__ import annotations

from typing import Any

from scanguard import ScannerError
from scanguard_tenable_policy import PolicyClient
from scanguard_tenable_policy.exclusion import Changes, ExclusionDocument, Piece, PiecesClient

from .exclusions import body_of, piece_of


class TenableIOClient(PiecesClient, PolicyClient):
    """Tenable VM policies and exclusions; implements scanguard.ScannerClient and ExclusionClient."""

    product = "Tenable Vulnerability Management"
    example_url = "https://cloud.tenable.com"
    user_agent = "scanguard-tenableio"

    def __init__(self, config: Any, *, session: Any = None) -> None:
        super().__init__(config, session=session)
        self._timezones: frozenset[str] | None = None
        self._listed: dict[str, dict[str, Any]] = {}

    # --- the exclusions API -----------------------------------------------------------------

    def exclusions(self) -> list[dict[str, Any]]:
        """GET /exclusions."""
        doc = self._json("GET", "/exclusions") or {}
        listed = doc.get("exclusions") if isinstance(doc, dict) else None
        if not isinstance(listed, list):
            raise ScannerError(self.scanner, "GET /exclusions answered without a list of exclusions")
        return [e for e in listed if isinstance(e, dict)]

    def exclusion(self, exclusion_id: int | str) -> dict[str, Any]:
        """GET /exclusions/{id}."""
        doc = self._json("GET", f"/exclusions/{int(exclusion_id)}")
        if not isinstance(doc, dict):
            raise ScannerError(self.scanner, f"GET /exclusions/{exclusion_id} answered without an exclusion")
        return doc

    def post_exclusion(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /exclusions; the exclusion made (with its id)."""
        doc = self._json("POST", "/exclusions", body)
        if not isinstance(doc, dict) or doc.get("id") is None:
            raise ScannerError(self.scanner, "POST /exclusions answered without the new exclusion's id")
        return doc

    def put_exclusion(self, exclusion_id: int | str, body: dict[str, Any]) -> None:
        """PUT /exclusions/{id} with the whole exclusion."""
        self._json("PUT", f"/exclusions/{int(exclusion_id)}", body)

    def remove_exclusion(self, exclusion_id: int | str) -> None:
        """DELETE /exclusions/{id}."""
        self._json("DELETE", f"/exclusions/{int(exclusion_id)}")

    def timezones(self) -> frozenset[str]:
        """The time zones exclusions may name (GET /scans/timezones, once per client)."""
        if self._timezones is None:
            doc = self._json("GET", "/scans/timezones") or {}
            listed = doc.get("timezones") if isinstance(doc, dict) else None
            self._timezones = frozenset(str(t.get("value")) for t in listed or [] if isinstance(t, dict))
        return self._timezones

    # --- ExclusionClient (PiecesClient) -------------------------------------------------------

    def held_pieces(self) -> list[tuple[str, Piece]]:
        """Every exclusion, as a piece."""
        self._listed = {str(e["id"]): e for e in self.exclusions() if e.get("id") is not None}
        return [(oid, piece_of(e)) for oid, e in self._listed.items()]

    def check_document(self, name: str, doc: ExclusionDocument) -> None:
        """The scanner must offer the time zone of every span."""
        zones = {s.tz for s in doc.spans}
        missing = sorted(z for z in zones if z not in self.timezones()) if zones else []
        if missing:
            raise ScannerError(self.scanner, f"the scanner offers no time zone {', '.join(missing)} for exclusions; "
                                             f"{name} cannot be kept here (write the scan windows in a zone it lists)")

    def write_changes(self, name: str, changes: Changes) -> None:
        """PUT the exclusions rewritten in place (the whole exclusion, as listed, with the piece
        over it), POST the new ones, DELETE what is left over."""
        for oid, piece in changes.replace:
            current = {k: v for k, v in self._listed.get(oid, {}).items() if k != "last_modification_date"}
            self.put_exclusion(oid, {**current, **body_of(name, piece)})
        for piece in changes.create:
            self.post_exclusion(body_of(name, piece))
        for oid in changes.delete:
            self.remove_exclusion(oid)
