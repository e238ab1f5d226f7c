"""Address sets (IPv4 and IPv6) as interval sets: a /8 is one interval, never 16 million hosts."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Iterable

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from .intervals import IntervalSet

_EMPTY = IntervalSet()
_MEMO_MIN = 64
_MEMO_SIZE = 16
_KNOWN_MEMO: "dict[int, tuple[tuple[str, ...], AddressSet, tuple[str, ...]]]" = {}


# ASCII digits only (\d would take other scripts' digits, which ipaddress refuses)
_DOTTED = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?:/([0-9]{1,2}))?")


def _fast_v4(item: str) -> tuple[int, int, int] | None:
    """An IPv4 host or CIDR in plain dotted form without ipaddress (tens of thousands are read
    back from every rendered exclusion list); None for anything else, left to ipaddress."""
    m = _DOTTED.fullmatch(item)
    if m is None:
        return None
    a, b, c, d, prefix = m.groups()
    octets = (int(a), int(b), int(c), int(d))
    if max(octets) > 255 or any(len(o) > 1 and o[0] == "0" for o in (a, b, c, d)):
        return None  # out of range or a leading zero: ipaddress gives the error
    value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    if prefix is None:
        return 4, value, value
    bits = int(prefix)
    if bits > 32:
        return None
    size = 1 << (32 - bits)
    low = value & ~(size - 1) & 0xFFFFFFFF
    return 4, low, low + size - 1


def parse_address_item(text: str) -> tuple[int, int, int]:
    """Parse one host, CIDR or range ("a-b") into (version, low, high); ValueError when bad."""
    return _parse_item(str(text).strip())


@lru_cache(maxsize=1 << 17)
def _parse_item(item: str) -> tuple[int, int, int]:
    # cached: validating a profile parses its addresses, and its address set is built later from
    # the same items
    if not item:
        raise ValueError("empty address")
    fast = _fast_v4(item)
    if fast is not None:
        return fast
    if "/" in item:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not a valid CIDR (like 10.20.0.0/16)") from None
        return net.version, int(net.network_address), int(net.broadcast_address)
    if "-" in item:
        lo_s, _, hi_s = item.partition("-")
        try:
            lo = ipaddress.ip_address(lo_s.strip())
            hi_s = hi_s.strip()
            if lo.version == 4 and hi_s.isdigit():  # 10.0.0.1-50
                hi = ipaddress.ip_address(".".join(str(lo).split(".")[:3] + [hi_s]))
            else:
                hi = ipaddress.ip_address(hi_s)
        except ValueError:
            raise ValueError(f"{item!r} is not a valid address range (like 10.0.0.1-10.0.0.50)") from None
        if lo.version != hi.version:
            raise ValueError(f"range {item!r} mixes IPv4 and IPv6")
        if int(lo) > int(hi):
            raise ValueError(f"range {item!r} runs backwards")
        return lo.version, int(lo), int(hi)
    try:
        addr = ipaddress.ip_address(item)
    except ValueError:
        raise ValueError(f"{item!r} is not a valid IP address") from None
    return addr.version, int(addr), int(addr)


class AddressSet:
    """IPv4 and IPv6 addresses as interval sets. Immutable, hashable, never expanded."""

    __slots__ = ("v4", "v6", "_items", "_blocks")

    def __init__(self, v4: IntervalSet | None = None, v6: IntervalSet | None = None) -> None:
        object.__setattr__(self, "v4", v4 or _EMPTY)
        object.__setattr__(self, "v6", v6 or _EMPTY)
        object.__setattr__(self, "_items", None)
        object.__setattr__(self, "_blocks", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AddressSet is immutable")

    @classmethod
    def parse(cls, items: "str | Iterable[str]") -> "AddressSet":
        """Hosts, CIDRs and ranges, as a comma-separated string or a list."""
        if isinstance(items, str):
            items = [p for p in items.split(",") if p.strip()]
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for it in items:
            ver, lo, hi = parse_address_item(it)
            (v4 if ver == 4 else v6).append((lo, hi))
        return cls(IntervalSet(v4), IntervalSet(v6))

    @classmethod
    def parse_known(cls, items: "Iterable[object]") -> "tuple[AddressSet, list[str]]":
        """(the addresses of the items that are hosts, CIDRs or ranges, the items that are not):
        for reading what a scanner holds, where a host name may sit among addresses."""
        texts = tuple(str(it) for it in items)
        if len(texts) < _MEMO_MIN:
            return cls._parse_known(texts)
        # long lists recur: every rendered template of a workspace reads back the same exclusion
        # list of thousands of never-scan and restricted devices; the result is immutable
        key = hash(texts)
        hit = _KNOWN_MEMO.get(key)
        if hit is not None and hit[0] == texts:
            return hit[1], list(hit[2])
        found, unknown = cls._parse_known(texts)
        if len(_KNOWN_MEMO) >= _MEMO_SIZE:
            _KNOWN_MEMO.clear()  # a handful of lists recur; when more do, start again
        _KNOWN_MEMO[key] = (texts, found, tuple(unknown))
        return found, unknown

    @classmethod
    def _parse_known(cls, items: "tuple[str, ...]") -> "tuple[AddressSet, list[str]]":
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        unknown: list[str] = []
        for it in items:
            try:
                ver, lo, hi = parse_address_item(it)
            except ValueError:
                unknown.append(it)
                continue
            (v4 if ver == 4 else v6).append((lo, hi))
        return cls(IntervalSet(v4), IntervalSet(v6)), unknown

    @classmethod
    def union_all(cls, sets: "Iterable[AddressSet]") -> "AddressSet":
        """The union of any number of sets in one pass (folding `|` would re-sort every step)."""
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for s in sets:
            v4.extend(s.v4.intervals)
            v6.extend(s.v6.intervals)
        return cls(IntervalSet(v4), IntervalSet(v6))

    @classmethod
    def everything(cls) -> "AddressSet":
        """Every IPv4 and IPv6 address (where a scanner without targets may aim)."""
        return _EVERYTHING

    def __bool__(self) -> bool:
        return bool(self.v4) or bool(self.v6)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AddressSet) and self.v4 == other.v4 and self.v6 == other.v6

    def __hash__(self) -> int:
        return hash((self.v4, self.v6))

    def __or__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(self.v4 | other.v4, self.v6 | other.v6)

    def __and__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(self.v4 & other.v4, self.v6 & other.v6)

    def __sub__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(self.v4 - other.v4, self.v6 - other.v6)

    def overlaps(self, other: "AddressSet") -> bool:
        """True when the sets share an address."""
        return self.v4.overlaps(other.v4) or self.v6.overlaps(other.v6)

    def issubset(self, other: "AddressSet") -> bool:
        """True when every address here is in the other set."""
        return self.v4.issubset(other.v4) and self.v6.issubset(other.v6)

    def __contains__(self, addr: object) -> bool:
        try:
            ip = ipaddress.ip_address(str(addr))
        except ValueError:
            return False
        return int(ip) in (self.v4 if ip.version == 4 else self.v6)

    def size(self) -> int:
        """How many addresses (computed from the intervals)."""
        return len(self.v4) + len(self.v6)

    def items(self) -> list[str]:
        """Compact text items: single hosts, CIDRs where an interval is one, else ranges."""
        if self._items is None:  # immutable, so computed once (large exclusion lists are rendered often)
            out: list[str] = []
            for ver, iv in ((4, self.v4), (6, self.v6)):
                for lo, hi in iv.intervals:
                    out.extend(_interval_text(ver, lo, hi))
            object.__setattr__(self, "_items", tuple(out))
        return list(self._items)

    def blocks(self) -> list[str]:
        """Single hosts and CIDR blocks only (a range becomes the blocks that cover it exactly),
        for tools that read no ranges: nmap takes 10.0.0.10-10.0.0.29 for a host name, and in a
        nessusd.rules line a "-" reads as a port range."""
        if self._blocks is None:  # immutable, so computed once (exclusion lists are rendered often)
            out: list[str] = []
            for ver, iv in ((4, self.v4), (6, self.v6)):
                mk = ipaddress.IPv4Address if ver == 4 else ipaddress.IPv6Address
                for lo, hi in iv.intervals:
                    if lo == hi:
                        out.append(str(mk(lo)))
                        continue
                    for net in ipaddress.summarize_address_range(mk(lo), mk(hi)):
                        out.append(str(net.network_address) if net.num_addresses == 1 else str(net))
            object.__setattr__(self, "_blocks", tuple(out))
        return list(self._blocks)

    def __repr__(self) -> str:
        return f"AddressSet({self.items()!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> "AddressSet":
            if isinstance(value, AddressSet):
                return value
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.items()),
        )


def _v4_text(value: int) -> str:
    return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def _interval_text(ver: int, lo: int, hi: int) -> list[str]:
    if ver == 4:  # hosts and CIDRs without ipaddress objects: check names thousands of them
        size = hi - lo + 1
        if size & (size - 1) == 0 and lo % size == 0:
            return [_v4_text(lo) if size == 1 else f"{_v4_text(lo)}/{33 - size.bit_length()}"]
    mk = ipaddress.IPv4Address if ver == 4 else ipaddress.IPv6Address
    if lo == hi:
        return [str(mk(lo))]
    nets = list(ipaddress.summarize_address_range(mk(lo), mk(hi)))
    if len(nets) == 1:
        return [str(nets[0])]
    return [f"{mk(lo)}-{mk(hi)}"]


_EVERYTHING = AddressSet(IntervalSet([(0, (1 << 32) - 1)]), IntervalSet([(0, (1 << 128) - 1)]))
