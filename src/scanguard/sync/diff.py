"""Desired versus live: which action each object of a scanner needs.

The marker scanguard writes into every object it pushes carries the hash of what it rendered,
so three hashes decide (see DESIGN.md, "Nightly sync"):

- live hash == marker hash == desired hash: unchanged;
- live hash == marker hash != desired hash: a planned change (the workspace moved on);
- live hash != marker hash: drift, someone edited the object in the console; restore it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..lattice import safety_regressions
from ..model.template import ScanTemplate
from ..scanners import RemoteObject, payload_hash
from .models import Action, Desired

MAX_CHANGES = 20


def value_changes(live: Any, desired: Any, *, limit: int = MAX_CHANGES) -> tuple[str, ...]:
    """Dotted paths whose values differ between two native documents, as
    ``path: live -> desired`` lines (at most `limit`, then a count of the rest)."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                sub = f"{path}.{k}" if path else str(k)
                if k not in a:
                    out.append(f"{sub}: (absent) -> {_short(b[k])}")
                elif k not in b:
                    out.append(f"{sub}: {_short(a[k])} -> (absent)")
                else:
                    walk(a[k], b[k], sub)
        elif a != b:
            out.append(f"{path or '(document)'}: {_short(a)} -> {_short(b)}")

    walk(live, desired, "")
    if len(out) > limit:
        rest = len(out) - limit
        out = out[:limit] + [f"... and {rest} more"]
    return tuple(out)


def _short(v: Any, width: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def weaker_than_desired(live_payload: Any, desired: Desired, parse: Callable[[Any], ScanTemplate],
                        vendor: str | None = None) -> tuple[str, ...]:
    """How the live document is less safe than the desired one; a live document the vendor
    cannot parse is reported as such (and treated as unsafe by the caller)."""
    try:
        live_t = parse(live_payload)
    except Exception as e:  # a document mangled in the console is exactly what drift restores
        return (f"cannot be read as a template ({type(e).__name__})",)
    return tuple(safety_regressions(live_t, desired.compiled.template, vendor=vendor))


def plan_actions(desired: Iterable[Desired], live: Iterable[RemoteObject], *,
                 parse: Callable[[Any], ScanTemplate], adopt: bool = False, vendor: str | None = None,
                 judge: Callable[[RemoteObject], tuple[str, ...]] | None = None) -> list[Action]:
    """The actions that bring `live` to `desired`, in a stable order (by name).

    `live` objects must carry their payload (read them first) and must be everything the
    scanner holds (a scanner that could not be read is never planned for). An unmanaged object
    whose name is managed is a conflict, adopted (overwritten) only with `adopt`. A managed
    object nothing desires is judged: `judge` gives why it must be retired (empty: it is
    still safe, an orphan left in place); without `judge`, it is an orphan."""
    by_name: dict[str, list[RemoteObject]] = {}
    for obj in live:
        by_name.setdefault(obj.name, []).append(obj)
    wanted = {d.name: d for d in desired}
    actions: list[Action] = []
    for name in sorted(wanted):
        d = wanted[name]
        objs = by_name.get(name, [])
        managed = sorted((o for o in objs if o.managed and o.marker_hash), key=lambda o: _keep_order(o, d))
        unmanaged = [o for o in objs if not (o.managed and o.marker_hash)]
        if not managed and not unmanaged:
            actions.append(Action(kind="create", name=name, desired_hash=d.digest))
            continue
        if not managed:
            o = unmanaged[0]
            actions.append(Action(kind="conflict", name=name, remote_id=o.remote_id, desired_hash=d.digest,
                                  live_hash=payload_hash(o.payload), adopt=adopt,
                                  changes=value_changes(o.payload, d.payload),
                                  weaker=weaker_than_desired(o.payload, d, parse, vendor)))
            continue
        keep = managed[0]
        actions.append(_classify(keep, d, parse, vendor))
        for extra in managed[1:]:
            actions.append(Action(kind="duplicate", name=name, remote_id=extra.remote_id,
                                  marker_hash=extra.marker_hash, live_hash=payload_hash(extra.payload)))
        for o in unmanaged:  # same name, not ours, beside a managed one: reported, left alone
            actions.append(Action(kind="conflict", name=name, remote_id=o.remote_id, desired_hash=d.digest,
                                  live_hash=payload_hash(o.payload)))
    for name in sorted(set(by_name) - set(wanted)):
        for o in by_name[name]:
            if o.managed:
                why = judge(o) if judge is not None else ()
                actions.append(Action(kind="retire" if why else "orphan", name=name, remote_id=o.remote_id,
                                      marker_hash=o.marker_hash, live_hash=payload_hash(o.payload), weaker=why))
    return actions


def _keep_order(o: RemoteObject, d: Desired) -> tuple:
    # keep the copy that needs the least work: already desired, then unedited, then the oldest id
    live = payload_hash(o.payload)
    return (live != d.digest, live != o.marker_hash, _id_key(o.remote_id))


def _id_key(remote_id: str) -> tuple:
    return (0, int(remote_id), "") if remote_id.isdigit() else (1, 0, remote_id)


def _classify(o: RemoteObject, d: Desired, parse: Callable[[Any], ScanTemplate], vendor: str | None) -> Action:
    live = payload_hash(o.payload)
    base = dict(name=d.name, remote_id=o.remote_id, desired_hash=d.digest, marker_hash=o.marker_hash, live_hash=live)
    if live != o.marker_hash:
        return Action(kind="drift", changes=value_changes(o.payload, d.payload),
                      weaker=weaker_than_desired(o.payload, d, parse, vendor), **base)
    if o.marker_hash != d.digest:
        return Action(kind="update", changes=value_changes(o.payload, d.payload),
                      weaker=weaker_than_desired(o.payload, d, parse, vendor), **base)
    return Action(kind="unchanged", **base)
