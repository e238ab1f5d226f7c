"""Address sets in the target syntax nmap reads.

nmap reads hosts, CIDR blocks (IPv4 and, with ``-6``, IPv6) and IPv4 octet ranges such as
``10.40.20.11-12`` (a range in the last octet). It does not read ``10.20.60.0-10.20.61.127``: as
``--exclude`` it tries to resolve it as a host name and quits, as a target it skips it. So an
IPv4 interval becomes, per /24 it touches, one octet range (or CIDR block) for a partial /24
and CIDR blocks for the whole /24s in between; an IPv6 interval becomes CIDR blocks. nmap scans
one address family per run (``-6`` for IPv6).
"""

from __future__ import annotations

import ipaddress

from scanguard import AddressSet

_OCTET = 0xFF


def _cidrs(ver: int, lo: int, hi: int) -> list[str]:
    mk = ipaddress.IPv4Address if ver == 4 else ipaddress.IPv6Address
    if lo == hi:
        return [str(mk(lo))]
    return [str(n.network_address) if n.num_addresses == 1 else str(n)
            for n in ipaddress.summarize_address_range(mk(lo), mk(hi))]


def _v4_items(lo: int, hi: int) -> list[str]:
    out: list[str] = []
    while lo <= hi:
        block_end = lo | _OCTET
        if lo & _OCTET == 0 and hi >= block_end:
            whole_end = ((hi + 1) & ~_OCTET) - 1  # the last address of the last whole /24 in range
            out += _cidrs(4, lo, whole_end)
            lo = whole_end + 1
            continue
        end = min(hi, block_end)
        nets = _cidrs(4, lo, end)
        out.append(nets[0] if len(nets) == 1 else f"{ipaddress.IPv4Address(lo)}-{end & _OCTET}")
        lo = end + 1
    return out


def nmap_items(addresses: AddressSet, version: int) -> list[str]:
    """The addresses of one family as nmap target items (hosts, CIDRs, last-octet ranges)."""
    out: list[str] = []
    if version == 4:
        for lo, hi in addresses.v4.intervals:
            out += _v4_items(lo, hi)
    else:
        for lo, hi in addresses.v6.intervals:
            out += _cidrs(6, lo, hi)
    return out


def families(addresses: AddressSet) -> list[int]:
    """The address families present, IPv4 first."""
    return [v for v, iv in ((4, addresses.v4), (6, addresses.v6)) if iv]
