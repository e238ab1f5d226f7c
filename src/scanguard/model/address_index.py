"""An index of keyed address sets: which keys own an address that overlaps a query.

Compile asks "which profiles have an address inside these targets?" for every template; with
tens of thousands of profiles and targets of thousands of intervals, testing each profile's set
against each target set would be quadratic. Small intervals (the usual host or /24) are kept
sorted by their start, so a query looks only at those that start at most the longest small
interval before it; the rare wide ones (a /16 of a whole plant) are tested one by one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Generic, Hashable, Iterable, TypeVar

from .addresses import AddressSet

K = TypeVar("K", bound=Hashable)
WIDE = 1 << 12
"""Intervals longer than this (a /20) are tested one by one."""


class _Family(Generic[K]):
    def __init__(self, items: list[tuple[int, int, K]]) -> None:
        small = sorted((lo, hi, k) for lo, hi, k in items if hi - lo < WIDE)
        self.starts = [lo for lo, _, _ in small]
        self.small = small
        self.longest = max((hi - lo for lo, hi, _ in small), default=0)
        self.wide = [(lo, hi, k) for lo, hi, k in items if hi - lo >= WIDE]

    def overlapping(self, intervals: Iterable[tuple[int, int]], out: set[K]) -> None:
        for a, b in intervals:
            # a small interval overlapping [a, b] starts in [a - longest, b]
            i = bisect_left(self.starts, a - self.longest)
            j = bisect_right(self.starts, b)
            for lo, hi, k in self.small[i:j]:
                if hi >= a:
                    out.add(k)
            for lo, hi, k in self.wide:
                if lo <= b and hi >= a:
                    out.add(k)


class AddressIndex(Generic[K]):
    """Keys (profile ids, say) with their address sets; immutable once built."""

    def __init__(self, entries: Iterable[tuple[K, AddressSet]]) -> None:
        v4: list[tuple[int, int, K]] = []
        v6: list[tuple[int, int, K]] = []
        for key, addrs in entries:
            v4.extend((lo, hi, key) for lo, hi in addrs.v4.intervals)
            v6.extend((lo, hi, key) for lo, hi in addrs.v6.intervals)
        self._v4 = _Family(v4)
        self._v6 = _Family(v6)

    def overlapping(self, query: AddressSet) -> set[K]:
        """Every key with at least one address in `query`."""
        out: set[K] = set()
        self._v4.overlapping(query.v4.intervals, out)
        self._v6.overlapping(query.v6.intervals, out)
        return out
