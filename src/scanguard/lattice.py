"""The safety lattice: the single source of truth for "how safe" and "safe enough".

- `merge(a, b)`: most restrictive wins. Excluded ports and checks are unions; rates,
  parallelism and timeouts take the minimum, delays the maximum; allowed discovery methods and
  ping ports intersect; safe-checks-only is OR; windows intersect. Commutative, associative,
  idempotent and monotone (tests/test_lattice_properties.py holds this with hypothesis).
- `narrow(template, constraints)`: the least change to a template that satisfies constraints.
- `violations(template, constraints)`: every way a template breaks constraints. Compile
  verification, vendor conformance, pre-scan checks and post-scan audits all call it.
- `at_least_as_safe(a, b)` / `safety_regressions(a, b)`: is template `a` no less safe than `b`?
- `exclusion_gaps(required, held)`: what scanner-side exclusions a scanner holds fall short of.
"""

from __future__ import annotations

from functools import reduce
from typing import Iterable, TypeVar

from .model.base import Model, trusted
from .model.addresses import AddressSet
from .model.constraints import Constraints, Provenance
from .model.exclusion import ScannerExclusion
from .model.intervals import IntervalSet
from .model.ports import PROTOCOLS, PortSet
from .model.template import ScanTemplate

__all__ = [
    "Violation",
    "merge",
    "merge_all",
    "narrow",
    "violations",
    "at_least_as_safe",
    "safety_regressions",
    "exclusion_gaps",
]

T = TypeVar("T", int, float)


class Violation(Model):
    """One way a template breaks constraints, with the constraints (provenance) it breaks."""

    kind: str
    message: str
    provenance: tuple[Provenance, ...] = ()

    def text(self) -> str:
        """The message followed by who asked for the constraint and why."""
        if not self.provenance:
            return self.message
        why = "; ".join(p.text() for p in self.provenance)
        return f"{self.message} ({why})"


def _min(a: T | None, b: T | None) -> T | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max(a: T | None, b: T | None) -> T | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge(a: Constraints, b: Constraints) -> Constraints:
    """Most restrictive wins (see module docstring)."""
    ping: PortSet | None
    if a.allowed_ping_ports is None:
        ping = b.allowed_ping_ports
    elif b.allowed_ping_ports is None:
        ping = a.allowed_ping_ports
    else:
        ping = a.allowed_ping_ports & b.allowed_ping_ports
    # values are already valid: skip re-validation (merge runs once per profile in compile)
    return trusted(
        Constraints,
        excluded_ports=a.excluded_ports | b.excluded_ports,
        excluded_categories=a.excluded_categories | b.excluded_categories,
        excluded_vendor_checks=a.excluded_vendor_checks | b.excluded_vendor_checks,
        allowed_discovery=a.allowed_discovery & b.allowed_discovery,
        allowed_ping_ports=ping,
        max_packets_per_second=_min(a.max_packets_per_second, b.max_packets_per_second),
        max_parallel_hosts=_min(a.max_parallel_hosts, b.max_parallel_hosts),
        max_parallel_checks_per_host=_min(a.max_parallel_checks_per_host, b.max_parallel_checks_per_host),
        min_probe_delay_ms=_max(a.min_probe_delay_ms, b.min_probe_delay_ms),
        max_timeout_s=_min(a.max_timeout_s, b.max_timeout_s),
        safe_checks_only=a.safe_checks_only or b.safe_checks_only,
        windows=a.windows | b.windows,
        provenance=a.provenance | b.provenance,
    )


def merge_all(items: Iterable[Constraints]) -> Constraints:
    """Merge any number of constraints in one pass (equal to folding `merge`, but linear:
    20,000 profiles do not copy growing sets 20,000 times). The empty merge is `Constraints()`."""
    items = list(items)
    if len(items) <= 2:
        return reduce(merge, items, Constraints())
    ports_tcp: list[tuple[int, int]] = []
    ports_udp: list[tuple[int, int]] = []
    cats: set[str] = set()
    vendor: set = set()
    windows: set = set()
    prov: set = set()
    allowed = set(Constraints().allowed_discovery)
    ping: PortSet | None = None
    for c in items:
        ports_tcp.extend(c.excluded_ports.tcp.intervals)
        ports_udp.extend(c.excluded_ports.udp.intervals)
        cats |= c.excluded_categories
        vendor |= c.excluded_vendor_checks
        windows |= c.windows
        prov |= c.provenance
        allowed &= c.allowed_discovery
        if c.allowed_ping_ports is not None:
            ping = c.allowed_ping_ports if ping is None else ping & c.allowed_ping_ports
    scalars = dict(
        max_packets_per_second=None, max_parallel_hosts=None, max_parallel_checks_per_host=None,
        min_probe_delay_ms=None, max_timeout_s=None,
    )
    for k in scalars:
        given = [v for v in (c.__dict__[k] for c in items) if v is not None]
        if given:
            scalars[k] = max(given) if k.startswith("min_") else min(given)
    from .model.intervals import IntervalSet

    return trusted(Constraints, **dict(
        excluded_ports=PortSet(IntervalSet(ports_tcp), IntervalSet(ports_udp)),
        excluded_categories=frozenset(cats),
        excluded_vendor_checks=frozenset(vendor),
        allowed_discovery=frozenset(allowed),
        allowed_ping_ports=ping,
        safe_checks_only=any(c.safe_checks_only for c in items),
        windows=frozenset(windows),
        provenance=frozenset(prov),
        **scalars,
    ))


def narrow(template: ScanTemplate, c: Constraints) -> ScanTemplate:
    """The template changed as little as possible so that it satisfies `c`.

    Never adds a port, a discovery method or speed: the result is at least as safe as the input.
    """
    d = template.discovery
    allowed = c.allowed_discovery
    ports = template.ports - c.excluded_ports
    if "udp_scan" not in allowed:
        ports = PortSet(ports.tcp, None)
    ping_ports = PortSet(d.ping_ports.tcp - c.excluded_ports.tcp, d.ping_ports.udp - c.excluded_ports.udp)
    if c.allowed_ping_ports is not None:
        ping_ports = ping_ports & c.allowed_ping_ports
    tcp_ping = d.tcp_ping and "tcp_ping" in allowed and bool(ping_ports.tcp)
    udp_ping = d.udp_ping and "udp_ping" in allowed and bool(ping_ports.udp)
    discovery = d.model_copy(
        update={
            "icmp": d.icmp and "icmp" in allowed,
            "arp": d.arp and "arp" in allowed,
            "tcp_ping": tcp_ping,
            "udp_ping": udp_ping,
            "ping_ports": ping_ports,
            "port_scan": d.port_scan if "syn_scan" in allowed else "connect",
        }
    )
    ch = template.checks
    checks = ch.model_copy(
        update={
            "safe_only": ch.safe_only or c.safe_checks_only,
            "excluded_categories": ch.excluded_categories | c.excluded_categories,
            "excluded_vendor_checks": ch.excluded_vendor_checks | c.excluded_vendor_checks,
        }
    )
    p = template.performance
    perf = p.model_copy(
        update={
            "packets_per_second": _min(p.packets_per_second, c.max_packets_per_second),
            "parallel_hosts": _min(p.parallel_hosts, c.max_parallel_hosts),
            "parallel_checks_per_host": _min(p.parallel_checks_per_host, c.max_parallel_checks_per_host),
            "probe_delay_ms": _max(p.probe_delay_ms, c.min_probe_delay_ms),
            "timeout_s": _min(p.timeout_s, c.max_timeout_s),
        }
    )
    return template.model_copy(
        update={
            "ports": ports,
            "discovery": discovery,
            "checks": checks,
            "performance": perf,
            "windows": template.windows | c.windows,
        }
    )


def _prov(c: Constraints, kind: str, *, ports: PortSet | None = None, item: str | None = None) -> tuple[Provenance, ...]:
    out = []
    for p in c.provenance:
        if p.kind != kind:
            continue
        if ports is not None and (p.ports is None or not (p.ports & ports)):
            continue
        if item is not None and p.item != item:
            continue
        out.append(p)
    return tuple(sorted(out, key=lambda p: (p.profile, p.item)))


def violations(template: ScanTemplate, c: Constraints, *, vendor: str | None = None) -> list[Violation]:
    """Every way `template` breaks `c`; the empty list means the template is safe for `c`.

    With `vendor`, the template is one read back from that vendor's native document: only that
    vendor's specific check ids can apply to it, and scan windows are left out (no vendor
    template carries them: `scanguard check` enforces windows before every scan).
    """
    out: list[Violation] = []
    bad = template.ports & c.excluded_ports
    for proto in PROTOCOLS:
        iv = bad.get(proto)
        if iv:
            only = PortSet(iv, None) if proto == "tcp" else PortSet(None, iv)
            out.append(
                Violation(
                    kind="excluded_ports",
                    message=f"template {template.name} probes excluded ports {only}",
                    provenance=_prov(c, "excluded_ports", ports=only),
                )
            )
    d = template.discovery
    used = template.discovery_methods()
    for method in sorted(used - c.allowed_discovery):
        out.append(
            Violation(
                kind="discovery",
                message=f"template {template.name} uses discovery method {method}, which is not allowed",
                provenance=_prov(c, "discovery", item=method),
            )
        )
    if d.tcp_ping or d.udp_ping:
        active = PortSet(d.ping_ports.tcp if d.tcp_ping else None, d.ping_ports.udp if d.udp_ping else None)
        pinged_bad = active & c.excluded_ports
        if pinged_bad:
            out.append(
                Violation(
                    kind="excluded_ports",
                    message=f"template {template.name} sends liveness pings to excluded ports {pinged_bad}",
                    provenance=_prov(c, "excluded_ports", ports=pinged_bad),
                )
            )
        if c.allowed_ping_ports is not None:
            outside = active - c.allowed_ping_ports
            if outside:
                out.append(
                    Violation(
                        kind="discovery",
                        message=f"template {template.name} pings ports {outside} outside the allowed ping ports "
                        f"{c.allowed_ping_ports}",
                        provenance=_prov(c, "discovery", item="ping_ports"),
                    )
                )
    ch = template.checks
    if ch.enabled:
        missing = c.excluded_categories - ch.excluded_categories
        for cat in sorted(missing):
            out.append(
                Violation(
                    kind="excluded_checks",
                    message=f"template {template.name} does not exclude check category {cat}",
                    provenance=_prov(c, "excluded_checks", item=f"category:{cat}"),
                )
            )
        needed = c.excluded_vendor_checks
        if vendor is not None:
            needed = frozenset(v for v in needed if v.vendor == vendor)
        for vc in sorted(needed - ch.excluded_vendor_checks, key=lambda v: v.text()):
            out.append(
                Violation(
                    kind="excluded_checks",
                    message=f"template {template.name} does not exclude check {vc.text()}",
                    provenance=_prov(c, "excluded_checks", item=vc.text()),
                )
            )
        if c.safe_checks_only and not ch.safe_only:
            out.append(
                Violation(
                    kind="safe_checks",
                    message=f"template {template.name} runs unsafe checks (safe checks only is required)",
                    provenance=_prov(c, "safe_checks"),
                )
            )
    p = template.performance
    limits = (
        ("packets_per_second", p.packets_per_second, c.max_packets_per_second),
        ("parallel_hosts", p.parallel_hosts, c.max_parallel_hosts),
        ("parallel_checks_per_host", p.parallel_checks_per_host, c.max_parallel_checks_per_host),
        ("timeout_s", p.timeout_s, c.max_timeout_s),
    )
    for name, have, limit in limits:
        if limit is not None and (have is None or have > limit):
            shown = "unlimited" if have is None else have
            out.append(
                Violation(
                    kind="rate",
                    message=f"template {template.name} has {name} {shown}, above the limit {limit}",
                    provenance=_prov(c, "rate", item=name),
                )
            )
    if c.min_probe_delay_ms is not None and p.probe_delay_ms < c.min_probe_delay_ms:
        out.append(
            Violation(
                kind="rate",
                message=f"template {template.name} has probe_delay_ms {p.probe_delay_ms}, below the minimum "
                f"{c.min_probe_delay_ms}",
                provenance=_prov(c, "rate", item="probe_delay_ms"),
            )
        )
    for ws in (c.windows - template.windows) if vendor is None else ():
        text = " or ".join(w.text() for w in sorted(ws, key=lambda w: w.text()))
        out.append(
            Violation(
                kind="window",
                message=f"template {template.name} does not keep to the scan window {text}",
                provenance=_prov(c, "window"),
            )
        )
    return out


def _le(a: int | None, b: int | None) -> bool:
    """a <= b where None means unlimited."""
    if b is None:
        return True
    return a is not None and a <= b


def safety_regressions(a: ScanTemplate, b: ScanTemplate, *, vendor: str | None = None) -> list[str]:
    """Every way template `a` is less safe than template `b` (empty: a is at least as safe).

    The order is the lattice's: fewer ports, discovery methods and ping ports, lower rates and
    parallelism, longer delays, more windows are safer. Switching vulnerability checks off is
    safer (fewer probes), but safe-checks-only, the excluded categories and the excluded vendor
    checks are compared whether checks are on or off: with checks off every vendor still runs
    discovery plugins under them (Nessus service detection, GVM's discovery NVTs, nmap version
    probes), so clearing them is a weakening even then. With `vendor`, `a` was read back from
    that vendor: only that vendor's check ids can be lost.
    """
    out: list[str] = []
    extra = a.ports - b.ports
    if extra:
        out.append(f"adds ports {extra}")
    more = a.discovery_methods() - b.discovery_methods()
    if more:
        out.append(f"adds discovery methods {', '.join(sorted(more))}")
    if a.discovery.tcp_ping or a.discovery.udp_ping:
        ap = PortSet(
            a.discovery.ping_ports.tcp if a.discovery.tcp_ping else None,
            a.discovery.ping_ports.udp if a.discovery.udp_ping else None,
        )
        bp = PortSet(
            b.discovery.ping_ports.tcp if b.discovery.tcp_ping else None,
            b.discovery.ping_ports.udp if b.discovery.udp_ping else None,
        )
        if not ap.issubset(bp):
            out.append(f"pings more ports {ap - bp}")
    if a.checks.enabled and not b.checks.enabled:
        out.append("enables vulnerability checks")
    if b.checks.safe_only and not a.checks.safe_only:
        out.append("turns safe checks off")
    lost = b.checks.excluded_categories - a.checks.excluded_categories
    if lost:
        out.append(f"re-enables check categories {', '.join(sorted(lost))}")
    lost_v = b.checks.excluded_vendor_checks - a.checks.excluded_vendor_checks
    if vendor is not None:
        lost_v = frozenset(v for v in lost_v if v.vendor == vendor)
    if lost_v:
        out.append(f"re-enables checks {', '.join(sorted(v.text() for v in lost_v))}")
    pa, pb = a.performance, b.performance
    if not _le(pa.packets_per_second, pb.packets_per_second):
        out.append(f"raises packets_per_second {pb.packets_per_second} -> {pa.packets_per_second or 'unlimited'}")
    for name in ("parallel_hosts", "parallel_checks_per_host", "timeout_s"):
        if getattr(pa, name) > getattr(pb, name):
            out.append(f"raises {name} {getattr(pb, name)} -> {getattr(pa, name)}")
    if pa.probe_delay_ms < pb.probe_delay_ms:
        out.append(f"lowers probe_delay_ms {pb.probe_delay_ms} -> {pa.probe_delay_ms}")
    if not b.windows.issubset(a.windows):
        out.append("drops a scan window")
    return out


def at_least_as_safe(a: ScanTemplate, b: ScanTemplate) -> bool:
    """True when template `a` is no less safe than template `b` in every respect."""
    return not safety_regressions(a, b)


def exclusion_gaps(required: Iterable[ScannerExclusion], held: Iterable[ScannerExclusion]) -> list[str]:
    """Every way the exclusions a scanner `held` fall short of the `required` ones: an address
    (or a port of an address) a required exclusion blocks that none held blocks, at least
    whenever the required one is in force. Empty: what is held covers what is required (it may
    block more: that is safe). A held exclusion counts for a scheduled one only when it is
    always in force or keeps the very same schedule."""
    held = list(held)
    out: list[str] = []
    for r in required:
        usable = [h for h in held if not h.schedule or h.schedule == r.schedule]
        whole = AddressSet.union_all(h.addresses for h in usable if h.ports is None)
        rest = r.addresses - whole
        if not rest:
            continue
        if r.ports is None:
            out.append(f"{r.name}: {', '.join(rest.items()[:5])} not excluded")
            continue
        partial = [h for h in usable if h.ports is not None and h.addresses.overlaps(rest)]
        for addrs, missing in _port_gaps(rest, r.ports, partial):
            out.append(f"{r.name}: ports {missing} on {', '.join(addrs.items()[:5])} not excluded")
    return out


def _port_gaps(where: AddressSet, ports: PortSet, held: list[ScannerExclusion]) -> list[tuple[AddressSet, PortSet]]:
    """(addresses, ports of `ports` that no held exclusion blocks there), address segment by segment."""
    gaps: list[tuple[AddressSet, PortSet]] = []
    for family in ("v4", "v6"):
        mine: IntervalSet = getattr(where, family)
        if not mine:
            continue
        cuts = set()
        for lo, hi in mine.intervals:
            cuts.update((lo, hi + 1))
        for h in held:
            for lo, hi in getattr(h.addresses, family).intervals:
                cuts.update((lo, hi + 1))
        points = sorted(cuts)
        for lo, nxt in zip(points, points[1:]):
            if lo not in mine:
                continue
            blocked = PortSet()
            for h in held:
                if lo in getattr(h.addresses, family):
                    blocked = blocked | h.ports  # type: ignore[operator]
            missing = ports - blocked
            if missing:
                seg = IntervalSet([(lo, nxt - 1)])
                gaps.append((AddressSet(seg, None) if family == "v4" else AddressSet(None, seg), missing))
    return gaps
