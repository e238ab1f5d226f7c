"""Scanner-side exclusions in the sync engine: managed objects judged by what they block.

A vendor whose `ExclusionSupport` is not an artifact keeps scanguard's exclusion documents on
the scanner through its client (an `ExclusionClient`). Each live object holding a document is
judged against what the document requires (`exclusion_gaps`), never only by its hash: people
may add exclusions of their own, which is safe and kept. Then, like templates:

- ``unchanged``: it blocks at least what is required (and, where the vendor keeps a marker,
  nobody edited it);
- ``create``: nothing holds the document and the vendor can make an object for it;
- ``update``: it blocks less than the document, which changed since scanguard last pushed it
  there (or was never pushed there);
- ``drift``: it blocks less than what scanguard pushed and verified there (or its marker says
  it was edited): someone removed an exclusion; restored and reported (exit 3).

Every write is read back and verified; an object that cannot be read back or parsed, or that
still blocks less than required, is an error (fail closed).
"""

from __future__ import annotations

from typing import Any, Callable

from ..lattice import exclusion_gaps
from ..model.base import Model
from ..model.exclusion import ScannerExclusion
from ..plugin.records import ExclusionSupport, Vendor
from ..render import render_exclusions
from ..scanners import ExclusionClient, RemoteObject, payload_hash
from .diff import value_changes
from .models import Action

PREFIX = "exclusion:"
"""Object names of exclusion documents in actions, results and the state database (a template
name cannot hold ':')."""


class DesiredExclusion(Model):
    """One exclusion document a scanner should hold, rendered and verified."""

    name: str
    payload: Any
    digest: str
    required: tuple[ScannerExclusion, ...]
    """What the document blocks (its own read-back): what every object holding it must block."""

    @property
    def object_name(self) -> str:
        """The name in actions and records ("exclusion:nessusd.rules")."""
        return PREFIX + self.name


def desired_exclusions(exclusions: tuple[ScannerExclusion, ...], vendor: Vendor) -> list[DesiredExclusion]:
    """The documents a scanner of this vendor should hold (none for an artifact vendor, whose
    documents an admin installs). Raises SafetyError or PluginError when they cannot be
    rendered safely."""
    support = vendor.exclusions
    if support is None or support.artifact:
        return []
    out = []
    for r in render_exclusions(exclusions, vendor):
        out.append(DesiredExclusion(name=r.name, payload=r.payload, digest=payload_hash(r.payload),
                                    required=tuple(support.parse(r.payload))))
    return out


def as_exclusion_client(client: Any, vendor: Vendor) -> ExclusionClient:
    """The vendor's client as an ExclusionClient; ValueError when it is not one."""
    if not isinstance(client, ExclusionClient):
        raise ValueError(f"vendor {vendor.name} declares scanner-side exclusions but its client cannot keep them "
                         "(list_exclusions, read_exclusion, create_exclusion, update_exclusion, delete_exclusion)")
    return client


def gaps_of(support: ExclusionSupport, payload: Any, required: tuple[ScannerExclusion, ...]) -> list[str]:
    """How a live document falls short of `required` (one that cannot be read: entirely)."""
    try:
        held = support.parse(payload)
    except Exception as e:  # what cannot be judged never counts as excluding anything
        return [f"cannot be read as an exclusion ({type(e).__name__}: {e})"]
    return exclusion_gaps(required, held)


def exclusion_actions(desired: list[DesiredExclusion], live: list[RemoteObject], support: ExclusionSupport,
                      last_verified: Callable[[str, str], str | None]) -> list[Action]:
    """The actions for the exclusion objects of one scanner. `last_verified(object_name,
    remote_id)` gives the digest scanguard last pushed and verified there (None: never)."""
    by_name: dict[str, list[RemoteObject]] = {}
    for o in live:
        by_name.setdefault(o.name, []).append(o)
    actions: list[Action] = []
    for d in desired:
        objs = by_name.get(d.name, [])
        if not objs and support.creates:
            actions.append(Action(kind="create", name=d.object_name, desired_hash=d.digest))
        for o in sorted(objs, key=lambda o: o.remote_id):
            gaps = tuple(gaps_of(support, o.payload, d.required))
            live_hash = payload_hash(o.payload)
            base = dict(name=d.object_name, remote_id=o.remote_id, desired_hash=d.digest, marker_hash=o.marker_hash,
                        live_hash=live_hash, weaker=gaps)
            if o.marker_hash is not None:
                kind = "drift" if live_hash != o.marker_hash or (gaps and o.marker_hash == d.digest) else (
                    "update" if o.marker_hash != d.digest else "unchanged")
            elif not gaps:
                kind = "unchanged"
            else:
                kind = "drift" if last_verified(d.object_name, o.remote_id) == d.digest else "update"
            changes = value_changes(o.payload, d.payload) if kind != "unchanged" else ()
            actions.append(Action(kind=kind, changes=changes, **base))  # type: ignore[arg-type]
    for name in sorted(set(by_name) - {d.name for d in desired}):
        for o in by_name[name]:
            if o.marker_hash is not None:  # blocks more than needed: safe, left in place
                actions.append(Action(kind="orphan", name=PREFIX + name, remote_id=o.remote_id,
                                      marker_hash=o.marker_hash, live_hash=payload_hash(o.payload)))
    return actions
