"""Tenable's scheduled exclusions: one vendor-neutral document for what Tenable Vulnerability
Management's exclusions (`/exclusions`) and Security Center's freeze windows (`/freeze`) hold.
Both plugins render it, read their objects back into it, and parse it with this module.

Both products block addresses (TVM `members`, SC `ipList`: hosts, CIDRs, ranges) on a schedule: a
start, a length and a repeat rule, in a time zone. Neither blocks single ports. scanguard's
scanner-side exclusions map as follows:

- a never-scan device (`never:<profile>`) is blocked always (`always`: TVM's "always active"
  exclusion, a schedule that is not enabled; SC's freeze window that repeats daily for 24 hours);
- a device allowed only in scan windows (`window:<profile>`) is blocked outside them: the
  complement of its windows over the week, in their own time zone, cut into `Span`s of at most a
  day that repeat every week on their weekdays (every day: daily);
- a device's forbidden ports are not given to Tenable (`ExclusionSupport.ports` is False): a
  Tenable exclusion blocks whole addresses, and blocking the device to keep one port closed would
  stop it being scanned at all. Every policy scanguard pushes scans exactly the allowed ports, and
  `scanguard check` refuses a scan that would reach them.

One document may need several objects on the scanner (one per span): a document is written as
`Piece`s, each carrying scanguard's lines in its description (the windows as written, "piece i/n",
the marker), and objects read back are `assemble`d into a document again, conservatively: the
addresses every piece blocks, the times any piece blocks. `parse_exclusion` then says what a
document blocks: the windows it names only when its spans really block everything outside them.

Time is wall-clock time in the span's time zone, as the window model reads it (a window at 01:00
Europe/Berlin is 01:00 in summer and in winter): both products take a start and an end in a named
time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Literal, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scanguard import (
    AddressSet,
    ExclusionSupport,
    IntervalSet,
    RemoteObject,
    ScannerError,
    ScannerExclusion,
    ScanWindow,
    parse_marker,
)

FORMAT = "tenable-exclusion/1"
DAY = 86_400
WEEK = 7 * DAY
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RRULE_DAYS = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}
"""Weekday -> its iCalendar name (BYDAY, TVM's byweekday)."""
ANCHOR = date(2024, 1, 1)
"""A Monday in the past: the first day of every span scanguard writes (the rule is in force from
then on; a rule that starts in the future is read as blocking nothing yet)."""
ALLOWED_PREFIX = "scanguard:allowed "
PIECE_PREFIX = "scanguard:piece "
OBJECT_PREFIX = "exclusion:"
"""The sync engine names exclusion objects "exclusion:<document>" in its markers."""
_CHUNK = 12 * 3600
"""Windows read back from spans alone are cut into pieces shorter than a day, so that each one is
unambiguous (a window of exactly 24 hours would read as an instant)."""


def _tod(t: time, *, up: bool) -> int:
    """Seconds since midnight; a fraction rounds up (`up`) or down."""
    s = t.hour * 3600 + t.minute * 60 + t.second
    return s + (1 if up and t.microsecond else 0)


def _check_tz(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None
    return tz


class Span(BaseModel):
    """A stretch of blocked time that repeats every week: from `start` (wall-clock, in `tz`) on
    each of `days`, for `seconds`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str
    days: tuple[str, ...]
    start: str
    """"HH:MM:SS"."""
    seconds: int = Field(ge=1, le=WEEK)

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @field_validator("days")
    @classmethod
    def _days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in v if d not in WEEKDAYS]
        if bad or not v:
            raise ValueError(f"days must be some of {', '.join(WEEKDAYS)} (got {list(v)})")
        return tuple(d for d in WEEKDAYS if d in set(v))

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", v) or time.fromisoformat(v) is None:
            raise ValueError(f"start must be HH:MM:SS (got {v!r})")
        return v

    @property
    def start_seconds(self) -> int:
        """Seconds after midnight the span starts."""
        return _tod(time.fromisoformat(self.start), up=False)

    @property
    def every_day(self) -> bool:
        """Whether it repeats on every weekday (a daily rule)."""
        return len(self.days) == 7

    def slots(self) -> IntervalSet:
        """The seconds of the week it blocks (Monday 00:00 local = 0; slot i is [i, i+1))."""
        out: list[tuple[int, int]] = []
        for d in self.days:
            lo = WEEKDAYS.index(d) * DAY + self.start_seconds
            out.extend(_circular(lo, self.seconds))
        return IntervalSet(out)

    def first_start(self) -> datetime:
        """The wall-clock start of its first occurrence (on or after ANCHOR), as written."""
        first = WEEKDAYS.index(self.days[0])
        return datetime.combine(ANCHOR + timedelta(days=first), time.fromisoformat(self.start))


def _circular(lo: int, length: int) -> list[tuple[int, int]]:
    """Slots [lo, lo + length) on the weekly circle, as at most two closed intervals."""
    lo %= WEEK
    length = min(length, WEEK)
    hi = lo + length - 1
    if hi < WEEK:
        return [(lo, hi)]
    return [(lo, WEEK - 1), (0, hi - WEEK)]


ALL_WEEK = IntervalSet([(0, WEEK - 1)])


def window_text(w: ScanWindow) -> str:
    """A window, losslessly: "sat 06:00:00-10:00:00 Europe/Berlin"."""
    return f"{','.join(w.days)} {w.start.isoformat()}-{w.end.isoformat()} {w.tz}"


def parse_window(text: str) -> ScanWindow:
    """The window `window_text` wrote. ValueError for anything else."""
    m = re.fullmatch(r"\s*([a-z,]+) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)-(\d{2}:\d{2}:\d{2}(?:\.\d+)?) (\S+)\s*", str(text))
    if not m:
        raise ValueError(f"not a scan window: {text!r}")
    return ScanWindow(days=tuple(m.group(1).split(",")), start=time.fromisoformat(m.group(2)),
                      end=time.fromisoformat(m.group(3)), tz=m.group(4))


def allowed_slots(windows: Iterable[ScanWindow]) -> IntervalSet:
    """The seconds of the week the windows allow (local wall clock of their time zone), whole
    seconds only: a window's last instant is left out, so what is blocked may start there."""
    out: list[tuple[int, int]] = []
    for w in windows:
        s, e = _tod(w.start, up=True), _tod(w.end, up=False)
        for d in w.days:
            base = WEEKDAYS.index(d) * DAY
            if w.start <= w.end:
                if e > s:
                    out.append((base + s, base + e - 1))
            else:  # wraps past midnight: the early part belongs to the next day
                if s < DAY:
                    out.append((base + s, base + DAY - 1))
                if e > 0:
                    out.extend(_circular(base + DAY, e))
    return IntervalSet(out)


def single_zone(windows: Iterable[ScanWindow]) -> str | None:
    """The one time zone of a set of windows (None: none, or several)."""
    zones = {w.tz for w in windows}
    return zones.pop() if len(zones) == 1 else None


def spans_outside(schedule: Iterable[frozenset[ScanWindow]]) -> tuple[Span, ...]:
    """The spans that block everything outside a schedule (every set of windows must allow an
    instant, as in ScannerExclusion.schedule): per set, the complement of its windows over the
    week, cut into spans of at most a day from the start of each blocked stretch. ValueError for
    a set whose windows are in several time zones."""
    spans: list[Span] = []
    for ws in schedule:
        if not ws:
            continue
        tz = single_zone(ws)
        if tz is None:
            raise ValueError("a set of scan windows in several time zones cannot be kept by one Tenable schedule")
        spans.extend(_spans_of(tz, ALL_WEEK - allowed_slots(ws)))
    return normalise(spans)


def _stretches(blocked: IntervalSet) -> list[tuple[int, int]]:
    """(start, length) of each maximal blocked stretch on the weekly circle."""
    iv = list(blocked.intervals)
    if not iv:
        return []
    if iv == [(0, WEEK - 1)]:
        return [(0, WEEK)]
    out = [(lo, hi - lo + 1) for lo, hi in iv]
    if len(out) > 1 and iv[0][0] == 0 and iv[-1][1] == WEEK - 1:  # the last stretch runs into Monday
        first = out.pop(0)
        last_lo, last_len = out.pop()
        out.append((last_lo, last_len + first[1]))
    return out


def _spans_of(tz: str, blocked: IntervalSet) -> list[Span]:
    out: list[Span] = []
    for lo, length in _stretches(blocked):
        k = 0
        while k * DAY < length:
            at = (lo + k * DAY) % WEEK
            tod = at % DAY
            out.append(Span(tz=tz, days=(WEEKDAYS[at // DAY],), start=f"{tod // 3600:02d}:{tod % 3600 // 60:02d}:{tod % 60:02d}",
                            seconds=min(DAY, length - k * DAY)))
            k += 1
    return out


def normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Spans in one canonical form: those with the same zone, start and length merged into one
    with all their days; sorted."""
    days: dict[tuple[str, str, int], set[str]] = {}
    for s in spans:
        days.setdefault((s.tz, s.start, s.seconds), set()).update(s.days)
    merged = [Span(tz=tz, start=start, seconds=n, days=tuple(d)) for (tz, start, n), d in days.items()]
    return tuple(sorted(merged, key=lambda s: (s.tz, s.start, s.seconds, [WEEKDAYS.index(d) for d in s.days])))


def blocked_by(spans: Iterable[Span], tz: str) -> IntervalSet:
    """The seconds of the week the spans of one time zone block."""
    out = IntervalSet()
    for s in spans:
        if s.tz == tz:
            out = out | s.slots()
    return out


def covers(windows: frozenset[ScanWindow], spans: Iterable[Span]) -> bool:
    """Whether the spans block every second outside the windows (only spans of the windows' own
    time zone count: two zones drift apart when their clocks change)."""
    tz = single_zone(windows)
    if tz is None:
        return False
    return (ALL_WEEK - allowed_slots(windows)).issubset(blocked_by(spans, tz))


def schedule_of(spans: Iterable[Span]) -> frozenset[frozenset[ScanWindow]]:
    """The scan windows that spans alone leave open, per time zone (empty: the spans block all of
    the week, an exclusion always in force). The windows may allow a little more than the spans
    leave open (their end instants), never less."""
    spans = list(spans)
    sets = []
    for tz in sorted({s.tz for s in spans}):
        blocked = blocked_by(spans, tz)
        if blocked == ALL_WEEK:
            return frozenset()
        windows = []
        for lo, length in _stretches(ALL_WEEK - blocked):
            k = 0
            while k * _CHUNK < length:
                at = (lo + k * _CHUNK) % WEEK
                n = min(_CHUNK, length - k * _CHUNK)
                tod = at % DAY
                end = (tod + n) % DAY
                windows.append(ScanWindow(days=(WEEKDAYS[at // DAY],), start=_time(tod), end=_time(end), tz=tz))
                k += 1
        sets.append(frozenset(windows))
    return frozenset(sets)


def _time(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def weekly_span(tz: str, start: datetime, seconds: float, freq: str, interval: Any = 1,
                days: Iterable[str] | None = None, *, now: datetime | None = None) -> Span | None:
    """The span a product's repeat rule blocks every week, read conservatively; None when it
    blocks nothing the weekly schedule can count on: an unknown time zone, a length that is not
    positive, a rule that is not daily or weekly every week (monthly, one-time, every other week),
    or one whose first occurrence is still to come. `start` is the wall-clock start of the first
    occurrence; `days` the weekdays of a weekly rule (none given: the start's own weekday)."""
    try:
        _check_tz(tz)
        every = int(str(interval).strip() or "1")
    except ValueError:
        return None
    if every != 1 or seconds < 1:
        return None
    today = (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    if start > today:
        return None
    kind = str(freq or "").strip().upper()
    if kind == "DAILY":
        chosen = tuple(days) if days else WEEKDAYS
    elif kind == "WEEKLY":
        chosen = tuple(days) if days else (WEEKDAYS[start.weekday()],)
    else:
        return None
    try:
        return Span(tz=tz, days=chosen, start=start.strftime("%H:%M:%S"), seconds=min(int(seconds), WEEK))
    except ValueError:
        return None


def rrule_days(text: Any) -> tuple[str, ...] | None:
    """Weekdays from an iCalendar day list ("MO,WE,FR"); None when there is none or one cannot be
    read (a day with an ordinal, "1MO", repeats monthly: not weekly)."""
    names = {v: k for k, v in RRULE_DAYS.items()}
    items = [x.strip().upper() for x in str(text or "").split(",") if x.strip()]
    if not items or any(x not in names for x in items):
        return None
    return tuple(names[x] for x in items)


# --- the document -----------------------------------------------------------------------------

class ExclusionDocument(BaseModel):
    """What scanguard keeps on a Tenable scanner for one scanner-side exclusion (see the module
    docstring); canonical, so that the same objects always read back as the same document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["tenable-exclusion/1"] = FORMAT
    name: str
    description: str = ""
    members: tuple[str, ...]
    always: bool = False
    allowed: tuple[tuple[str, ...], ...] = ()
    """The scan windows the exclusion keeps open, as written by `window_text`, one tuple per set."""
    spans: tuple[Span, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The JSON form (what render returns and a client's read gives back)."""
        return self.model_dump(mode="json")


def keeps(e: ScannerExclusion) -> bool:
    """Tenable keeps an exclusion of whole addresses, always or outside windows of one time zone
    per set (a Tenable schedule has one time zone) that leave something to block."""
    if e.ports is not None or not e.addresses:
        return False
    sets = [ws for ws in e.schedule if ws]
    return all(single_zone(ws) is not None for ws in sets) and (not sets or bool(spans_outside(sets)))


def _reasons(e: ScannerExclusion) -> str:
    return " ".join("; ".join(r.text() for r in e.reasons).split())[:300]


def exclusion_document(e: ScannerExclusion) -> ExclusionDocument:
    """The document for one exclusion Tenable keeps (`keeps`)."""
    sets = [ws for ws in e.schedule if ws]
    allowed = tuple(sorted(tuple(sorted(window_text(w) for w in ws)) for ws in sets))
    spans = spans_outside(sets)
    always = not sets or any(blocked_by(spans, tz) == ALL_WEEK for tz in {s.tz for s in spans})
    return ExclusionDocument(name=e.name, description=_reasons(e), members=tuple(e.addresses.items()),
                             always=always, allowed=() if always else allowed, spans=() if always else spans)


def render_exclusions(exclusions: tuple[ScannerExclusion, ...]) -> dict[str, dict[str, Any]]:
    """{exclusion name: document} for every exclusion given (the sync engine gives only those
    `keeps` accepts)."""
    return {e.name: exclusion_document(e).payload() for e in exclusions if keeps(e)}


def _declared(doc: ExclusionDocument) -> frozenset[frozenset[ScanWindow]] | None:
    try:
        return frozenset(frozenset(parse_window(t) for t in ws) for ws in doc.allowed if ws)
    except ValueError:
        return None


def parse_exclusion(payload: Any) -> tuple[ScannerExclusion, ...]:
    """What a document blocks: its addresses (host names block no address), always, or outside
    the windows it names when its spans block every second outside them, else outside what its
    spans leave open. ValueError for anything that is not a document."""
    if isinstance(payload, ExclusionDocument):
        doc = payload
    else:
        if not isinstance(payload, Mapping) or payload.get("format") != FORMAT:
            raise ValueError(f"not a Tenable exclusion document (format {FORMAT})")
        doc = ExclusionDocument.model_validate(payload)
    addresses, _names = AddressSet.parse_known(doc.members)
    if not addresses:
        return ()
    if doc.always:
        return (ScannerExclusion(name=doc.name, kind="never", addresses=addresses),)
    if not doc.spans:
        return ()
    declared = _declared(doc)
    if declared and all(covers(ws, doc.spans) for ws in declared):
        schedule = declared
    else:
        schedule = schedule_of(doc.spans)
    return (ScannerExclusion(name=doc.name, kind="window" if schedule else "never", addresses=addresses,
                             schedule=schedule),)


def blocks_less(before: Iterable[ScannerExclusion], after: Iterable[ScannerExclusion]) -> list[str]:
    """Every exclusion of `before` whose addresses `after` no longer blocks at every second it
    did (weekly, in each time zone of its windows), judged by time, not by how the windows are
    written (scanguard.exclusion_gaps asks for the very same windows). Only exclusions of `after`
    that hold all of an exclusion's addresses count for it."""
    after = list(after)
    out = []
    for b in before:
        holders = [a for a in after if b.addresses.issubset(a.addresses)]
        if any(not a.schedule for a in holders):
            continue
        if not b.schedule:
            out.append(f"{b.name}: {', '.join(b.addresses.items()[:5])} no longer blocked always")
            continue
        needed = spans_outside(b.schedule)
        held = [s for a in holders for s in spans_outside(a.schedule)]
        short = [tz for tz in sorted({s.tz for s in needed}) if not blocked_by(needed, tz).issubset(blocked_by(held, tz))]
        if short:
            out.append(f"{b.name}: {', '.join(b.addresses.items()[:5])} blocked less of the week ({', '.join(short)})")
    return out


EXCLUSIONS = ExclusionSupport(render=render_exclusions, parse=parse_exclusion, ports=False, schedule=True,
                              creates=True, keeps=keeps)
"""Scanner-side exclusions on Tenable VM (exclusions) and Security Center (freeze windows)."""


# --- pieces: the objects one document needs on a scanner ----------------------------------------

class Piece(BaseModel):
    """One object on the scanner: the addresses it blocks, always or during one span (neither:
    nothing the schedule can count on), and its description as stored (scanguard's lines in it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[str, ...]
    always: bool = False
    span: Span | None = None
    description: str = ""


def make_piece(members: Iterable[str], *, always: bool = False, span: Span | None = None,
               description: str = "") -> Piece:
    """A piece read from an object, canonical: a span that blocks the whole week is always in force
    (Security Center has no "always": scanguard writes a daily freeze window of 24 hours)."""
    if span is not None and blocked_by([span], span.tz) == ALL_WEEK:
        always, span = True, None
    return Piece(members=tuple(members), always=always, span=None if always else span, description=description)


ALWAYS_SPAN = Span(tz="UTC", days=WEEKDAYS, start="00:00:00", seconds=DAY)
"""The span a product without "always in force" writes for it: every day, all day, in UTC (no
clock changes)."""


def _own_lines(description: str) -> list[str]:
    return [line for line in str(description or "").splitlines() if not line.startswith("scanguard:")]


def pieces_of(doc: ExclusionDocument, marker: str) -> list[Piece]:
    """The objects that hold a document, each described with the document's text, the windows it
    keeps open, its place among the pieces and the marker."""
    head = _own_lines(doc.description)
    if doc.allowed:
        head.append(ALLOWED_PREFIX + " | ".join("; ".join(ws) for ws in doc.allowed))
    targets: list[tuple[bool, Span | None]] = [(True, None)] if doc.always else [(False, s) for s in doc.spans]
    n = len(targets)
    return [Piece(members=doc.members, always=always, span=span,
                  description="\n".join([*head, f"{PIECE_PREFIX}{i}/{n}", marker]))
            for i, (always, span) in enumerate(targets, 1)]


def _allowed_hint(description: str) -> tuple[tuple[str, ...], ...] | None:
    for line in str(description or "").splitlines():
        if line.startswith(ALLOWED_PREFIX):
            sets = [tuple(sorted(w.strip() for w in part.split(";") if w.strip()))
                    for part in line[len(ALLOWED_PREFIX):].split("|")]
            return tuple(sorted(s for s in sets if s))
    return None


def _piece_number(description: str) -> tuple[int, int] | None:
    for line in str(description or "").splitlines():
        m = re.fullmatch(re.escape(PIECE_PREFIX) + r"(\d+)/(\d+)\s*", line)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def assemble(name: str, pieces: Sequence[Piece]) -> ExclusionDocument:
    """A document from the objects that hold it, as they are: the addresses every piece blocks
    (one an object dropped counts for none), the times any piece blocks; always when a piece is
    always in force or the spans of one zone cover the week; the windows scanguard wrote, when
    every piece names the same."""
    sets = [AddressSet.parse_known(p.members)[0] for p in pieces]
    members = sets[0] if sets else AddressSet()
    for s in sets[1:]:
        members = members & s
    spans = normalise(p.span for p in pieces if p.span is not None)
    always = any(p.always for p in pieces) or any(blocked_by(spans, tz) == ALL_WEEK for tz in {s.tz for s in spans})
    hints = {_allowed_hint(p.description) for p in pieces}
    allowed = hints.pop() if len(hints) == 1 else None
    first = pieces[0].description if pieces else ""
    return ExclusionDocument(name=name, description="\n".join(_own_lines(first)), members=tuple(members.items()),
                             always=always, allowed=() if always or not allowed else allowed,
                             spans=() if always else spans)


def group(objects: Iterable[tuple[str, Piece]]) -> dict[str, list[tuple[str, Piece]]]:
    """Objects carrying scanguard's marker, by the document they hold ({name: [(id, piece)]})."""
    out: dict[str, list[tuple[str, Piece]]] = {}
    for oid, piece in objects:
        marker = parse_marker(piece.description)
        if marker is None or not marker[0]:
            continue
        name = marker[0][len(OBJECT_PREFIX):] if marker[0].startswith(OBJECT_PREFIX) else marker[0]
        out.setdefault(name, []).append((str(oid), piece))
    for members in out.values():
        members.sort(key=lambda m: (_piece_number(m[1].description) or (0, 0), m[0]))
    return out


def remote_object(name: str, held: Sequence[tuple[str, Piece]]) -> RemoteObject:
    """The objects holding one document as the sync engine sees them: named and identified by the
    document, their payload the document assembled from them. The marker counts only when every
    piece is there and carries the same one; otherwise (a write cut short, a piece deleted) the
    engine judges the objects by what they block and by what it last verified there."""
    pieces = [p for _, p in held]
    hashes = {(parse_marker(p.description) or (None, ""))[1] for p in pieces}
    numbers = [_piece_number(p.description) for p in pieces]
    totals = {n[1] for n in numbers if n}
    complete = (None not in numbers and len(totals) == 1
                and sorted(n[0] for n in numbers if n) == list(range(1, max(totals) + 1)))
    marker = hashes.pop() if complete and len(hashes) == 1 else None
    return RemoteObject(remote_id=name, name=name, payload=assemble(name, pieces).payload(),
                        marker_hash=marker or None, managed=True)


def _blocks_at_least(new: Piece, old: Piece) -> bool:
    return (new.always, new.span) == (old.always, old.span) and AddressSet.parse_known(old.members)[0].issubset(
        AddressSet.parse_known(new.members)[0])


class Changes(BaseModel):
    """What to write to bring the objects of one document to the wanted pieces."""

    model_config = ConfigDict(frozen=True)

    replace: tuple[tuple[str, Piece], ...] = ()
    """(object id, piece): an object rewritten in place, each blocking at least what it blocked."""
    create: tuple[Piece, ...] = ()
    delete: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.replace or self.create or self.delete)


def converge(held: Sequence[tuple[str, Piece]], wanted: Sequence[Piece]) -> Changes:
    """The writes that bring the objects of one document to exactly `wanted`: objects that already
    are a wanted piece stay; an object is rewritten in place only into a piece that blocks at
    least what it blocked (its text changed, say); the rest is created, then what is left over
    deleted. Callers write in that order (replace, create, delete), so that nothing is ever
    blocked less while a change is under way."""
    left = list(held)
    missing = []
    for piece in wanted:
        match = next((i for i, (_, p) in enumerate(left) if p == piece), None)
        if match is None:
            missing.append(piece)
        else:
            left.pop(match)
    replace, create = [], []
    for piece in missing:
        match = next((i for i, (_, p) in enumerate(left) if _blocks_at_least(piece, p)), None)
        if match is None:
            create.append(piece)
        else:
            replace.append((left.pop(match)[0], piece))
    return Changes(replace=tuple(replace), create=tuple(create), delete=tuple(oid for oid, _ in left))


class PiecesClient:
    """scanguard.ExclusionClient over a product's objects that each hold a piece of a document
    (Tenable VM exclusions, Security Center freeze windows), a mixin: the client says how to read
    its objects (`held_pieces`), how to write a change (`write_changes`), and what to check before
    writing (`check_document`); the rest is the same for both. Documents are named and identified
    by their name."""

    scanner: str

    def held_pieces(self) -> list[tuple[str, Piece]]:
        """(object id, piece) of every object of the kind on the scanner."""
        raise NotImplementedError

    def write_changes(self, name: str, changes: Changes) -> None:
        """Write the changes in order: replace, create, delete."""
        raise NotImplementedError

    def check_document(self, name: str, doc: ExclusionDocument) -> None:
        """Raise ScannerError for a document this scanner cannot hold (before anything is written)."""

    def _groups(self) -> dict[str, list[tuple[str, Piece]]]:
        return group(self.held_pieces())

    def list_exclusions(self) -> list[RemoteObject]:
        """Every document scanguard keeps here, assembled from the objects that hold it."""
        return [remote_object(name, held) for name, held in sorted(self._groups().items())]

    def read_exclusion(self, remote_id: str) -> RemoteObject:
        """The document `remote_id` (its name) as the objects holding it are now."""
        groups = self._groups()
        if remote_id not in groups:
            raise ScannerError(self.scanner, f"no object holds scanguard's {remote_id} (deleted?)", status=404)
        return remote_object(remote_id, groups[remote_id])

    def create_exclusion(self, name: str, payload: Any, marker: str) -> str:
        """Make the objects that hold a document (those an earlier, interrupted attempt made are
        kept); returns the document's name, its id here."""
        return self._converge(name, payload, marker)

    def update_exclusion(self, remote_id: str, name: str, payload: Any, marker: str) -> str:
        """Bring the objects of a document to exactly what it holds now."""
        return self._converge(name, payload, marker)

    def delete_exclusion(self, remote_id: str) -> None:
        """Delete every object holding the document."""
        held = self._groups().get(remote_id, [])
        self.write_changes(remote_id, Changes(delete=tuple(oid for oid, _ in held)))

    def _converge(self, name: str, payload: Any, marker: str) -> str:
        doc = ExclusionDocument.model_validate(payload)
        self.check_document(name, doc)
        changes = converge(self._groups().get(name, []), pieces_of(doc, marker))
        if changes:
            self.write_changes(name, changes)
        return name


def wall_seconds(start: datetime, end: datetime) -> float:
    """Wall-clock seconds from one naive local time to another (what a product that takes a start
    and an end in a time zone blocks)."""
    return (end - start).total_seconds()


__all__ = [
    "ALWAYS_SPAN", "ANCHOR", "Changes", "PiecesClient", "DAY", "EXCLUSIONS", "ExclusionDocument", "FORMAT", "Piece", "RRULE_DAYS", "Span", "WEEK", "WEEKDAYS",
    "allowed_slots", "assemble", "blocked_by", "blocks_less", "converge", "covers", "exclusion_document", "group", "keeps",
    "make_piece", "normalise", "parse_exclusion", "parse_window", "pieces_of", "remote_object", "render_exclusions", "rrule_days",
    "schedule_of", "single_zone", "spans_outside", "wall_seconds", "weekly_span", "window_text",
]
