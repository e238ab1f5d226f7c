"""Immutable sets of integers held as sorted, disjoint, non-adjacent closed intervals.

Port sets and address sets are both built on this: a /8 or the whole port range is one
interval, never a set of 65,536 (or 16 million) integers.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterable, Iterator

Interval = tuple[int, int]


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    if isinstance(intervals, tuple) and len(intervals) <= 1:
        return intervals if not intervals or intervals[0][0] <= intervals[0][1] else ()
    if not isinstance(intervals, (list, tuple)):
        intervals = list(intervals)
    # the common case, read back from a rendering or a scanner: already sorted, disjoint and
    # apart; one pass tells, and the sort and merge below are skipped
    prev = None
    for lo, hi in intervals:
        if lo > hi or (prev is not None and lo <= prev + 1):
            break
        prev = hi
    else:
        return tuple(intervals)
    ordered = sorted(intervals)
    out: list[Interval] = []
    cur_lo = cur_hi = None
    for lo, hi in ordered:
        if lo > hi:
            continue
        if cur_hi is not None and lo <= cur_hi + 1:
            if hi > cur_hi:
                cur_hi = hi
        else:
            if cur_hi is not None:
                out.append((cur_lo, cur_hi))
            cur_lo, cur_hi = lo, hi
    if cur_hi is not None:
        out.append((cur_lo, cur_hi))
    return tuple(out)


class IntervalSet:
    """A set of integers as sorted disjoint closed intervals; hashable and immutable."""

    __slots__ = ("_iv", "_starts", "_hash")

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._iv = _normalise(intervals)
        self._starts: tuple[int, ...] | None = None  # built on the first membership test
        self._hash: int | None = None

    @classmethod
    def _raw(cls, iv: tuple[Interval, ...]) -> "IntervalSet":
        obj = cls.__new__(cls)
        obj._iv = iv
        obj._starts = None
        obj._hash = None
        return obj

    @property
    def intervals(self) -> tuple[Interval, ...]:
        """The intervals, sorted and disjoint."""
        return self._iv

    def __bool__(self) -> bool:
        return bool(self._iv)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self._iv)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and self._iv == other._iv

    def __hash__(self) -> int:
        if self._hash is None:  # immutable, and long sets are dictionary keys (address memos)
            self._hash = hash(self._iv)
        return self._hash

    def __repr__(self) -> str:
        return f"IntervalSet({list(self._iv)!r})"

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self._iv:
            yield from range(lo, hi + 1)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        i = bisect_right(self._start_list(), value) - 1
        return i >= 0 and self._iv[i][1] >= value

    def union(self, other: "IntervalSet") -> "IntervalSet":
        """Every integer in either set."""
        return IntervalSet(self._iv + other._iv)

    __or__ = union

    def _start_list(self) -> tuple[int, ...]:
        if self._starts is None:
            self._starts = tuple(lo for lo, _ in self._iv)
        return self._starts

    def intersection(self, other: "IntervalSet") -> "IntervalSet":
        """Integers in both sets: a linear merge of the two interval lists, or, when one list is
        far shorter (a device's hosts against a scan's 10,000 ranges), a bisection into the long
        one for each short interval."""
        a, b = self._iv, other._iv
        if not a or not b:
            return IntervalSet._raw(())
        if len(a) > len(b):
            a, b, other = b, a, self
        if len(a) * 16 < len(b):
            return IntervalSet._raw(tuple(self._bisected(a, b, other._start_list())))
        i = j = 0
        out: list[Interval] = []
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IntervalSet._raw(tuple(out))

    @staticmethod
    def _bisected(short: tuple[Interval, ...], long: tuple[Interval, ...], starts: tuple[int, ...]) -> Iterator[Interval]:
        for lo, hi in short:
            # the long intervals that can meet [lo, hi]: from the last one starting at or before lo
            j = max(bisect_right(starts, lo) - 1, 0)
            end = bisect_right(starts, hi)
            for k in range(j, end):
                klo, khi = long[k]
                if khi >= lo:
                    yield (max(lo, klo), min(hi, khi))

    __and__ = intersection

    def difference(self, other: "IntervalSet") -> "IntervalSet":
        """Integers in this set and not in the other."""
        out: list[Interval] = []
        b = other._iv
        j = 0
        for lo, hi in self._iv:
            cur = lo
            while j < len(b) and b[j][1] < cur:
                j += 1
            k = j
            while k < len(b) and b[k][0] <= hi:
                if b[k][0] > cur:
                    out.append((cur, b[k][0] - 1))
                cur = max(cur, b[k][1] + 1)
                if cur > hi:
                    break
                k += 1
            if cur <= hi:
                out.append((cur, hi))
        return IntervalSet._raw(tuple(out))

    __sub__ = difference

    def complement(self, lo: int, hi: int) -> "IntervalSet":
        """Integers in [lo, hi] that are not in this set."""
        return IntervalSet([(lo, hi)]).difference(self)

    def issubset(self, other: "IntervalSet") -> bool:
        """True when every integer here is in the other set."""
        return not self.difference(other)

    def overlaps(self, other: "IntervalSet") -> bool:
        """True when the sets share at least one integer."""
        if not self._iv or not other._iv:
            return False
        a, b = (self, other) if len(self._iv) <= len(other._iv) else (other, self)
        if len(a._iv) * 16 < len(b._iv):  # each short interval meets the long list where it would go
            starts, long = b._start_list(), b._iv
            for lo, hi in a._iv:
                k = bisect_right(starts, hi) - 1
                if k >= 0 and long[k][1] >= lo:
                    return True
            return False
        return bool(self.intersection(other))
