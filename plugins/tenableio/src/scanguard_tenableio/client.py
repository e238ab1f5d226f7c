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

from scanguard import RemoteObject, ScannerError
from scanguard_tenable_policy import PolicyClient
from scanguard_tenable_policy.exclusion import ExclusionDocument, Piece, converge, group, pieces_of, remote_object

from .exclusions import body_of, piece_of


class TenableIOClient(PolicyClient):
    """Tenable VM policies and exclusions; implements scanguard.ScannerClient and ExclusionClient."""

    product = "Tenable Vulnerability Management"
    example_url = "https://cloud.tenable.com"
    user_agent = "scanguard-tenableio"

    def __init__(self, config: Any, *, session: Any = None) -> None:
        super().__init__(config, session=session)
        self._timezones: frozenset[str] | None = None

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

    # --- ExclusionClient ----------------------------------------------------------------------

    def _held(self) -> tuple[dict[str, list[tuple[str, Piece]]], dict[str, dict[str, Any]]]:
        listed = self.exclusions()
        by_id = {str(e.get("id")): e for e in listed if e.get("id") is not None}
        return group((oid, piece_of(e)) for oid, e in by_id.items()), by_id

    def list_exclusions(self) -> list[RemoteObject]:
        """Every document scanguard keeps here, assembled from the exclusions that hold it."""
        groups, _ = self._held()
        return [remote_object(name, held) for name, held in sorted(groups.items())]

    def read_exclusion(self, remote_id: str) -> RemoteObject:
        """The document `remote_id` (its name) as the exclusions holding it are now."""
        groups, _ = self._held()
        if remote_id not in groups:
            raise ScannerError(self.scanner, f"no exclusion holds scanguard's {remote_id} (deleted?)", status=404)
        return remote_object(remote_id, groups[remote_id])

    def create_exclusion(self, name: str, payload: Any, marker: str) -> str:
        """Make the exclusions that hold a document (those an earlier, interrupted attempt made
        are kept); returns the document's name, its id here."""
        return self._converge(name, payload, marker)

    def update_exclusion(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Bring the exclusions of a document to exactly what it holds now."""
        return self._converge(name, payload, marker)

    def delete_exclusion(self, remote_id: str) -> None:
        """Delete every exclusion holding the document."""
        groups, _ = self._held()
        for oid, _piece in groups.get(remote_id, []):
            self.remove_exclusion(oid)

    def _converge(self, name: str, payload: Any, marker: str) -> str:
        doc = ExclusionDocument.model_validate(payload)
        zones = {s.tz for s in doc.spans}
        if zones:
            offered = self.timezones()
            missing = sorted(z for z in zones if z not in offered)
            if missing:
                raise ScannerError(self.scanner, f"the scanner offers no time zone {', '.join(missing)} for exclusions; "
                                                 f"{name} cannot be kept here (write the scan windows in a zone it lists)")
        groups, by_id = self._held()
        changes = converge(groups.get(name, []), pieces_of(doc, marker))
        for oid, piece in changes.replace:
            # the whole exclusion goes back, as the API shows it, with the piece over it
            current = {k: v for k, v in by_id[oid].items() if k not in ("last_modification_date",)}
            self.put_exclusion(oid, {**current, **body_of(name, piece)})
        for piece in changes.create:
            self.post_exclusion(body_of(name, piece))
        for oid in changes.delete:
            self.remove_exclusion(oid)
        return name
