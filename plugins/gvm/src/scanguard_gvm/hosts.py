"""Addresses as gvmd reads them: the host text of targets, and targets cut to gvmd's size limit.

gvmd (gvm-libs base/hosts.c) reads a target's host list its own way, and it is not scanguard's:

- an IPv4 CIDR block leaves out its network and broadcast addresses (10.40.0.0/28 is .1 to .14)
  and /31 and /32 are refused; an IPv6 block leaves out its first and last address (but /127 and
  /128); so a CIDR in an exclude list leaves two addresses of the block scannable;
- "a.b.c.d-e.f.g.h" and "a.b.c.d-N" are inclusive ranges, single addresses are themselves;
- a target may name at most --max-ips-per-target addresses (4095 by default), counted before
  its exclude list is applied, and so may its exclude list ("400 Error in host specification").

So scanguard writes exact text only (single addresses and inclusive ranges, never a CIDR), reads
what gvmd holds with gvmd's rules, and cuts a template whose targets are larger than the limit
into several targets that together name exactly the same addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from scanguard import AddressSet, IntervalSet

DEFAULT_MAX_IPS_PER_TARGET = 4095
"""gvmd's default --max-ips-per-target."""
ABSOLUTE_MAX_IPS_PER_TARGET = 70000
"""The largest --max-ips-per-target gvmd accepts."""
MAX_PARTS = 256
"""The most targets (and tasks) one template is cut into; beyond that the limit is refused as
unworkable rather than filling the scanner with thousands of tasks."""


def _text(version: int, lo: int, hi: int) -> str:
    mk = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return str(mk(lo)) if lo == hi else f"{mk(lo)}-{mk(hi)}"


def gvm_items(addresses: AddressSet) -> list[str]:
    """Host text naming exactly these addresses for gvmd: single addresses and inclusive
    "first-last" ranges (never a CIDR block, which gvmd reads without its first and last address)."""
    out = [_text(4, lo, hi) for lo, hi in addresses.v4.intervals]
    out += [_text(6, lo, hi) for lo, hi in addresses.v6.intervals]
    return out


def _v4_cidr(item: str) -> tuple[int, int] | None:
    addr, _, block = item.partition("/")
    if not block.isdigit() or not 1 <= int(block) <= 30:
        return None  # gvmd refuses /31, /32 and anything that is not a block
    net = ipaddress.IPv4Network(f"{addr}/{block}", strict=False)
    return int(net.network_address) + 1, int(net.broadcast_address) - 1


def _v6_cidr(item: str) -> tuple[int, int] | None:
    net = ipaddress.IPv6Network(item, strict=False)
    lo, hi = int(net.network_address), int(net.broadcast_address)
    if net.prefixlen >= 127:
        return lo, hi
    return lo + 1, hi - 1


def _item(item: str) -> tuple[int, int, int] | None:
    """(version, first, last) the way gvmd expands one host item, None for a name or garbage."""
    try:
        if "/" in item:
            if ":" in item:
                lo, hi = _v6_cidr(item)  # type: ignore[misc]
                return 6, lo, hi
            span = _v4_cidr(item)
            return (4, *span) if span else None
        if "-" in item:
            first, _, last = item.partition("-")
            lo_addr = ipaddress.ip_address(first.strip())
            last = last.strip()
            if lo_addr.version == 4 and last.isdigit():  # 10.0.0.1-50: the last octet replaced
                hi = (int(lo_addr) & 0xFFFFFF00) + int(last)
                return (4, int(lo_addr), hi) if int(last) <= 255 and hi >= int(lo_addr) else None
            if lo_addr.version == 6 and ":" not in last:  # ::1-ef12: gvm-libs sets the last byte
                hi = (int(lo_addr) & ~0xFF) | (int(last, 16) & 0xFF)
                return (6, int(lo_addr), hi) if hi >= int(lo_addr) else None
            hi_addr = ipaddress.ip_address(last)
            if hi_addr.version != lo_addr.version or int(hi_addr) < int(lo_addr):
                return None
            return lo_addr.version, int(lo_addr), int(hi_addr)
        addr = ipaddress.ip_address(item)
        return addr.version, int(addr), int(addr)
    except ValueError:
        return None


def read_gvm_hosts(text: str | None) -> tuple[AddressSet, tuple[str, ...]]:
    """(the addresses gvmd reads in a host list, the items that are no address: names or
    garbage, which gvmd may still resolve and scan)."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    other: list[str] = []
    for raw in (text or "").replace("\n", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        parsed = _item(item)
        if parsed is None:
            other.append(item)
        else:
            (v4 if parsed[0] == 4 else v6).append((parsed[1], parsed[2]))
    return AddressSet(IntervalSet(v4), IntervalSet(v6)), tuple(sorted(set(other)))


@dataclass(frozen=True)
class Part:
    """One target of a template cut to gvmd's limit."""

    hosts: AddressSet
    exclude: AddressSet


def split(include: AddressSet, exclude: AddressSet, limit: int) -> tuple[list[Part], bool]:
    """The targets one template needs under a limit of `limit` addresses per target, and
    whether they hold the template's hosts and exclusions exactly as rendered.

    A template within the limit stays one target: its hosts and all its exclusions (those
    outside its hosts too, when they fit the limit). A larger one is cut into pieces of the
    addresses it actually scans (include minus exclude), at most `limit` each, every piece also
    carrying the exclusions: the pieces together scan exactly what the template scans, and none
    names an excluded address. Exclusions that do not fit the limit are cut down to those inside
    the hosts. No part at all when every address is excluded (gvmd refuses such a target).
    Raises ValueError when the cut cannot be done within gvmd's rules."""
    inside = exclude & include
    if not include - exclude:
        return [], False
    carried = exclude if exclude.size() <= limit else inside
    if carried.size() > limit:
        raise ValueError(f"its targets exclude {inside.size()} addresses, more than gvmd takes in one target's "
                         f"exclude list ({limit})")
    if include.size() <= limit:
        return [Part(include, carried)], carried == exclude
    effective = include - exclude
    parts: list[Part] = []
    for version, iv in ((4, effective.v4), (6, effective.v6)):
        room, piece = limit, []
        for lo, hi in iv.intervals:
            while lo <= hi:
                take = min(hi, lo + room - 1)
                piece.append((lo, take))
                room -= take - lo + 1
                lo = take + 1
                if room == 0:
                    parts.append(_part(version, piece, carried))
                    room, piece = limit, []
                    if len(parts) > MAX_PARTS:
                        raise ValueError(f"its targets would take more than {MAX_PARTS} targets of {limit} addresses")
        if piece:
            parts.append(_part(version, piece, carried))
    if len(parts) > MAX_PARTS:
        raise ValueError(f"its targets would take {len(parts)} targets of {limit} addresses (at most {MAX_PARTS})")
    return parts, False


def _part(version: int, piece: list[tuple[int, int]], exclude: AddressSet) -> Part:
    iv = IntervalSet(piece)
    hosts = AddressSet(iv, None) if version == 4 else AddressSet(None, iv)
    return Part(hosts, exclude)
