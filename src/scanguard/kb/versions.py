"""Affected-version ranges as advisories write them, and whether a profile's firmware falls in one.

CSAF product_version_range names are vers strings (``vers:all/<V4.3.8``, ``vers:generic/>=1.0|<2.0``)
or free text (``>= 5.4.1 | <= 5.7.1``, ``<= 10``, ``All versions < V4.33``, ``2.3.6 and below``,
``All versions``); product_version names are single versions (``V4.1``). Anything else is kept as
text and counts as unknown: matching never claims a version is affected, or not, on a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = r"[vVrR]?\d[\w.\-+]*(?:\s+(?:update|upd|sp|hf|service pack|patch)\s*\d+)*"
_CMP = re.compile(rf"(<=|>=|<|>|=|==|!=)\s*({_VERSION})", re.IGNORECASE)
_ALL = re.compile(r"^\s*(?:vers:[a-z]+/\*|\*|all versions?|all)\s*$", re.IGNORECASE)


def version_key(text: str) -> tuple:
    """A sort key for version strings: numbers numerically, words in order ("V4.3.8" < "V4.10")."""
    t = text.strip().lower()
    t = re.sub(r"^[vr](?=\d)", "", t)
    parts = re.findall(r"\d+|[a-z]+", t)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


@dataclass(frozen=True)
class Bound:
    """One end of a range: a version and whether it is included."""

    version: str
    inclusive: bool


@dataclass(frozen=True)
class VersionRange:
    """A set of versions: every version (`everything`), or an interval (either end may be open)."""

    lower: Bound | None = None
    upper: Bound | None = None
    everything: bool = False

    def contains(self, version: str) -> bool:
        """True when `version` is in the range."""
        if self.everything:
            return True
        k = version_key(version)
        if self.lower is not None:
            lk = version_key(self.lower.version)
            if k < lk or (k == lk and not self.lower.inclusive):
                return False
        if self.upper is not None:
            uk = version_key(self.upper.version)
            if k > uk or (k == uk and not self.upper.inclusive):
                return False
        return True

    def overlaps(self, other: "VersionRange") -> bool:
        """True when some version lies in both ranges."""
        if self.everything or other.everything:
            return True
        lo = _max_lower(self.lower, other.lower)
        hi = _min_upper(self.upper, other.upper)
        if lo is None or hi is None:
            return True
        lk, hk = version_key(lo.version), version_key(hi.version)
        return lk < hk or (lk == hk and lo.inclusive and hi.inclusive)

    def text(self) -> str:
        """">= 5.4.1, < 5.8" or "all versions"."""
        if self.everything:
            return "all versions"
        parts = []
        if self.lower is not None:
            parts.append(f"{'>=' if self.lower.inclusive else '>'} {self.lower.version}")
        if self.upper is not None:
            parts.append(f"{'<=' if self.upper.inclusive else '<'} {self.upper.version}")
        return ", ".join(parts)


def _max_lower(a: Bound | None, b: Bound | None) -> Bound | None:
    if a is None or b is None:
        return a or b
    ka, kb = version_key(a.version), version_key(b.version)
    if ka != kb:
        return a if ka > kb else b
    return a if not a.inclusive else b


def _min_upper(a: Bound | None, b: Bound | None) -> Bound | None:
    if a is None or b is None:
        return a or b
    ka, kb = version_key(a.version), version_key(b.version)
    if ka != kb:
        return a if ka < kb else b
    return a if not a.inclusive else b


def parse_range(text: str) -> VersionRange | None:
    """The range a version spec names, or None when it cannot be read."""
    if not text or not text.strip():
        return None
    t = text.strip()
    if _ALL.match(t):
        return VersionRange(everything=True)
    t = re.sub(r"^vers:[a-z]+/", "", t, flags=re.IGNORECASE)
    t = re.sub(r"^all versions?\s*", "", t, flags=re.IGNORECASE)
    m = re.match(rf"^(?:versions?\s+)?({_VERSION})\s+(?:to|through|-)\s+({_VERSION})$", t, re.IGNORECASE)
    if m:
        return VersionRange(lower=Bound(m.group(1), True), upper=Bound(m.group(2), True))
    m = re.match(rf"^(?:versions?\s+)?({_VERSION})\s+and\s+(prior|earlier|below|before|older|later|above|newer)$",
                 t, re.IGNORECASE)
    if m:
        if m.group(2).lower() in ("later", "above", "newer"):
            return VersionRange(lower=Bound(m.group(1), True))
        return VersionRange(upper=Bound(m.group(1), True))
    m = re.match(rf"^(?:prior to|before|earlier than|older than)\s+({_VERSION})$", t, re.IGNORECASE)
    if m:
        return VersionRange(upper=Bound(m.group(1), False))
    cmps = _CMP.findall(t)
    if cmps:
        lower = upper = None
        for op, ver in cmps:
            if op in (">", ">="):
                lower = Bound(ver, op == ">=")
            elif op in ("<", "<="):
                upper = Bound(ver, op == "<=")
            elif op in ("=", "=="):
                lower = upper = Bound(ver, True)
        if lower is None and upper is None:
            return None
        return VersionRange(lower=lower, upper=upper)
    m = re.match(rf"^(?:versions?\s+)?({_VERSION})$", t, re.IGNORECASE)
    if m:
        return VersionRange(lower=Bound(m.group(1), True), upper=Bound(m.group(1), True))
    return None


def affected(firmware: str | None, specs: tuple[str, ...]) -> bool | None:
    """Whether a profile's firmware (a version or a range, e.g. "<= 11.16.4") meets any affected
    spec: True, False, or None when either side cannot be read (no firmware, free text)."""
    if not firmware or not specs:
        return None
    mine = parse_range(firmware)
    if mine is None:
        return None
    known = [r for r in (parse_range(s) for s in specs) if r is not None]
    if not known:
        return None
    return any(mine.overlaps(r) for r in known)
