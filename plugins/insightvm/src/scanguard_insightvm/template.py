"""A compiled template as an InsightVM ScanTemplate document, and a ScanTemplate document back
as a neutral template.

`render_template` writes every field it owns explicitly, in canonical form, so that
`normalise_document` (the projection of any console object onto those fields) of what the console
returns equals what was rendered, and a hand edit of any of them changes the hash.

`parse_template` reads what a scan with that document would do, and where a console object
leaves something unset or ambiguous it reads the less safe possibility: an unset limit is no
limit, an unknown port mode scans every port, an individually enabled check may belong to any
disabled category.
"""

from __future__ import annotations

import math
import re
from typing import Any

from scanguard import CompiledTemplate, IntervalSet, PortSet, ScanTemplate, VendorCheck

from .categories import CATEGORY_SWITCHES, CHECK_KINDS
from .durations import format_duration_ms, parse_duration_ms
from .ports import FULL_RANGE, canonical_port_list, expand_ports, format_port_list, parse_port_list

VENDOR = "insightvm"
MAX_PACKET_RATE = 15000
"""The spec's upper bound on discovery.performance.packetRate.maximum."""
MAX_PARALLELISM = 1000
"""The spec's upper bound on discovery.performance.parallelism.maximum."""
MAX_DELAY_MS = 30_000
"""The console accepts scan delays from PT0S to 30 s."""
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 500, 30_000
"""The console accepts retry timeouts from PT0.5S to 30 s."""
UNKNOWN_LIMIT = 1_000_000
"""How an unset parallelism limit reads: effectively none (the less safe reading)."""
UNKNOWN_TIMEOUT_S = MAX_TIMEOUT_MS // 1000
"""How an unset timeout reads: the longest the console allows."""
_MARKER_RE = re.compile(r"\s*scanguard:managed(?: name=\S+)? sha256=[0-9a-f]{64}\s*")


def _service(ports: IntervalSet, hard_excluded: IntervalSet) -> dict[str, Any]:
    """ports / additionalPorts / excludedPorts for one protocol.

    The profiles' excluded ports are always written to excludedPorts, so that a console user who
    switches the port mode to "all" still cannot reach them. The rest takes the shorter form:
    "all" minus a complement, or "custom" with the ports listed."""
    if not ports:
        return {"ports": "none", "additionalPorts": [], "excludedPorts": format_port_list(hard_excluded)}
    complement = FULL_RANGE - ports
    if len(complement.intervals) <= len(ports.intervals):
        return {"ports": "all", "additionalPorts": [], "excludedPorts": format_port_list(complement | hard_excluded)}
    return {"ports": "custom", "additionalPorts": format_port_list(ports),
            "excludedPorts": format_port_list(hard_excluded)}


def _check_selection(t: ScanTemplate) -> tuple[bool, bool, dict[str, list[str]]]:
    """(unsafe checks off, web spider off, disabled categories/types/individual checks).

    The web spider crawls and tests whatever it finds whatever the check selection says, with its
    own performance settings: wherever checks are restricted (a category, type or check excluded)
    it is off."""
    ch = t.checks
    unsafe_off = ch.safe_only
    web_off = bool(ch.excluded_categories) or any(vc.vendor == VENDOR for vc in ch.excluded_vendor_checks)
    disabled: dict[str, set[str]] = {"categories": set(), "types": set(), "individual": set()}
    for cat in sorted(ch.excluded_categories):
        sw = CATEGORY_SWITCHES.get(cat)
        if sw is None:  # fail closed: a category we cannot express is never dropped silently
            raise ValueError(f"InsightVM has no mapping for the check category {cat!r}")
        disabled["categories"].update(sw.categories)
        disabled["types"].update(sw.types)
        unsafe_off = unsafe_off or sw.unsafe_off
        web_off = web_off or sw.web_spider_off
    where = {"check": "individual", "category": "categories", "type": "types"}
    for vc in ch.excluded_vendor_checks:
        if vc.vendor != VENDOR:
            continue
        if vc.kind not in CHECK_KINDS:
            kinds = ", ".join(sorted(CHECK_KINDS))
            raise ValueError(f"InsightVM cannot exclude {vc.text()}: its check kinds are {kinds}")
        disabled[where[vc.kind]].add(vc.id)
    return unsafe_off, web_off, {k: sorted(v) for k, v in disabled.items()}


def render_template(ct: CompiledTemplate) -> dict[str, Any]:
    """The ScanTemplate body (POST/PUT /api/3/scan_templates) for a compiled template.

    Raises ValueError for what InsightVM cannot express safely (a scan delay above 30 s, an
    exclusion of an unknown kind)."""
    t = ct.template
    d, p, ch = t.discovery, t.performance, t.checks
    if p.probe_delay_ms > MAX_DELAY_MS:
        raise ValueError(f"template {t.name}: InsightVM cannot wait more than {MAX_DELAY_MS // 1000} s between probes")
    unsafe_off, web_off, disabled = _check_selection(t)
    hard = ct.constraints.excluded_ports
    delay = format_duration_ms(p.probe_delay_ms)
    timeout_ms = min(max(p.timeout_s * 1000, MIN_TIMEOUT_MS), MAX_TIMEOUT_MS)
    return {
        "name": ct.name,
        "description": t.description.strip(),
        "discoveryOnly": not ch.enabled,
        "vulnerabilityEnabled": ch.enabled,
        "webEnabled": ch.enabled and not web_off,
        "maxParallelAssets": p.parallel_hosts,
        "maxScanProcesses": p.parallel_checks_per_host,
        "discovery": {
            "asset": {
                "sendIcmpPings": d.icmp,
                "sendArpPings": d.arp,
                "tcpPorts": expand_ports(d.ping_ports.tcp) if d.tcp_ping else [],
                "udpPorts": expand_ports(d.ping_ports.udp) if d.udp_ping else [],
            },
            "service": {
                "tcp": {"method": "SYN" if d.port_scan == "syn" else "Full", **_service(t.ports.tcp, hard.tcp)},
                "udp": _service(t.ports.udp, hard.udp),
            },
            "performance": {
                # minimum 0 and no "defeat rate limit": never push a target harder than it answers
                "packetRate": {
                    "defeatRateLimit": False,
                    "minimum": 0,
                    "maximum": min(p.packets_per_second, MAX_PACKET_RATE) if p.packets_per_second else 0,
                },
                "parallelism": {"minimum": 0, "maximum": min(p.parallel_checks_per_host, MAX_PARALLELISM)},
                # the spec's descriptions of minimum and maximum are swapped: write both
                "scanDelay": {"minimum": delay, "maximum": delay},
                "timeout": {
                    "initial": format_duration_ms(MIN_TIMEOUT_MS),
                    "minimum": format_duration_ms(MIN_TIMEOUT_MS),
                    "maximum": format_duration_ms(timeout_ms),
                },
            },
        },
        "checks": {
            "unsafe": not unsafe_off,
            "categories": {"disabled": disabled["categories"]},
            "types": {"disabled": disabled["types"]},
            # individually enabled checks run even in disabled categories: none are left enabled
            "individual": {"enabled": [], "disabled": disabled["individual"]},
        },
    }


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _duration(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_duration_ms(value)
    except ValueError:
        return None


def _scanned(service: Any) -> IntervalSet:
    """The ports one protocol's service discovery probes."""
    if not isinstance(service, dict):
        service = {}
    mode = service.get("ports")
    # "well-known" is a console-side list we cannot see, and an unknown mode is unknown: all ports
    base = IntervalSet() if mode in ("none", "custom") else FULL_RANGE
    scanned = base | parse_port_list(service.get("additionalPorts"))
    return scanned - parse_port_list(service.get("excludedPorts"))


def _strings(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else set()


def strip_marker(description: Any) -> str:
    """A description without scanguard's managed marker."""
    return _MARKER_RE.sub(" ", str(description or "")).strip()


def template_name(name: Any) -> str:
    """A console template name as a valid neutral template name ("Full audit" -> "Full-audit")."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@-]+", "-", str(name or "")).lstrip("_.@-").rstrip("-")
    return cleaned or "insightvm-template"


def parse_template(doc: dict[str, Any]) -> ScanTemplate:
    """The neutral template a ScanTemplate document amounts to (see the module docstring)."""
    if not isinstance(doc, dict):
        raise ValueError("an InsightVM scan template is a JSON object")
    asset = _get(doc, "discovery", "asset") or {}
    tcp = _get(doc, "discovery", "service", "tcp") or {}
    udp = _get(doc, "discovery", "service", "udp") or {}
    perf = _get(doc, "discovery", "performance") or {}
    checks = doc.get("checks") if isinstance(doc.get("checks"), dict) else {}

    tcp_ping_ports = parse_port_list(asset.get("tcpPorts"))
    udp_ping_ports = parse_port_list(asset.get("udpPorts"))
    discovery = {
        "icmp": asset.get("sendIcmpPings") is not False,
        "arp": asset.get("sendArpPings") is not False,
        "tcp_ping": bool(tcp_ping_ports),
        "udp_ping": bool(udp_ping_ports),
        "ping_ports": PortSet(tcp_ping_ports, udp_ping_ports),
        "port_scan": "connect" if str(tcp.get("method", "SYN")).lower() == "full" else "syn",
    }

    web = doc.get("webEnabled") is not False
    vulnerability = doc.get("vulnerabilityEnabled") is not False
    enabled = doc.get("discoveryOnly") is not True and (web or vulnerability)
    unsafe = checks.get("unsafe") is not False
    individual_enabled = _strings(_get(checks, "individual", "enabled"))
    # an individually enabled check runs even where its category or type is disabled, and we
    # cannot tell which categories it belongs to: then no category or type exclusion holds; nor
    # does one while the web spider runs (it tests what it crawls, whatever the selection says)
    trust_groups = not individual_enabled and not web
    cats = _strings(_get(checks, "categories", "disabled")) if trust_groups else set()
    types = _strings(_get(checks, "types", "disabled")) if trust_groups else set()
    singles = _strings(_get(checks, "individual", "disabled")) - individual_enabled
    cats_folded = {c.casefold() for c in cats}
    types_folded = {t.casefold() for t in types}
    neutral = {
        name for name, sw in CATEGORY_SWITCHES.items()
        if all(c.casefold() in cats_folded for c in sw.categories)
        and all(t.casefold() in types_folded for t in sw.types)
        and (not sw.unsafe_off or not unsafe)
        and not web
    }
    vendor = (
        {VendorCheck(vendor=VENDOR, kind="category", id=c) for c in cats}
        | {VendorCheck(vendor=VENDOR, kind="type", id=t) for t in types}
        | {VendorCheck(vendor=VENDOR, kind="check", id=i) for i in singles}
    )

    rate = _get(perf, "packetRate") or {}
    rate_max, rate_min = _int(rate.get("maximum")) or 0, _int(rate.get("minimum")) or 0
    processes = _int(doc.get("maxScanProcesses"))
    per_host = processes if processes and processes > 0 else UNKNOWN_LIMIT
    parallelism = _int(_get(perf, "parallelism", "maximum"))
    if parallelism and parallelism > 0:
        per_host = max(per_host, parallelism)
    assets = _int(doc.get("maxParallelAssets"))
    delays = [ms for ms in (_duration(_get(perf, "scanDelay", k)) for k in ("minimum", "maximum")) if ms is not None]
    timeouts = [ms for ms in (_duration(_get(perf, "timeout", k)) for k in ("initial", "minimum", "maximum"))
                if ms is not None]
    performance = {
        # the engine may go as fast as the larger bound; 0 (the console default) is no cap
        "packets_per_second": max(rate_max, rate_min) if rate_max > 0 else None,
        "parallel_hosts": assets if assets and assets > 0 else UNKNOWN_LIMIT,
        "parallel_checks_per_host": per_host,
        "probe_delay_ms": min(delays) if delays else 0,
        "timeout_s": max(1, math.ceil(max(timeouts) / 1000)) if timeouts else UNKNOWN_TIMEOUT_S,
    }

    return ScanTemplate(
        name=template_name(doc.get("name")),
        description=strip_marker(doc.get("description")),
        ports=PortSet(_scanned(tcp), _scanned(udp)),
        discovery=discovery,
        checks={
            "enabled": enabled,
            "safe_only": not unsafe,
            "excluded_categories": frozenset(neutral),
            "excluded_vendor_checks": frozenset(vendor),
        },
        performance=performance,
    )


def _port_list(value: Any) -> Any:
    try:
        return canonical_port_list(value)
    except ValueError:
        return value  # kept as read: it differs from anything rendered, which is the point


def _port_numbers(value: Any) -> Any:
    try:
        return expand_ports(parse_port_list(value))
    except ValueError:
        return value


def _sorted_strings(value: Any) -> Any:
    return sorted(str(v) for v in value) if isinstance(value, list) else value


def _canonical_duration(value: Any) -> Any:
    ms = _duration(value)
    return value if ms is None else format_duration_ms(ms)


Shape = dict[str, "Shape | Callable[[Any], Any] | None"]
_SERVICE: Shape = {"ports": None, "additionalPorts": _port_list, "excludedPorts": _port_list}
RENDERED_SHAPE: Shape = {
    "name": None,
    "description": strip_marker,
    "discoveryOnly": None,
    "vulnerabilityEnabled": None,
    "webEnabled": None,
    "maxParallelAssets": None,
    "maxScanProcesses": None,
    "discovery": {
        "asset": {"sendIcmpPings": None, "sendArpPings": None, "tcpPorts": _port_numbers, "udpPorts": _port_numbers},
        "service": {"tcp": {"method": None, **_SERVICE}, "udp": dict(_SERVICE)},
        "performance": {
            "packetRate": {"defeatRateLimit": None, "minimum": None, "maximum": None},
            "parallelism": {"minimum": None, "maximum": None},
            "scanDelay": {"minimum": _canonical_duration, "maximum": _canonical_duration},
            "timeout": {"initial": _canonical_duration, "minimum": _canonical_duration, "maximum": _canonical_duration},
        },
    },
    "checks": {
        "unsafe": None,
        "categories": {"disabled": _sorted_strings},
        "types": {"disabled": _sorted_strings},
        "individual": {"enabled": _sorted_strings, "disabled": _sorted_strings},
    },
}
"""Every field render writes, with how each is brought to canonical form."""


def _project(doc: Any, shape: Shape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in shape.items():
        if not isinstance(doc, dict) or key not in doc:
            continue
        value = doc[key]
        if isinstance(sub, dict):
            out[key] = _project(value, sub) if isinstance(value, dict) else value
        else:
            out[key] = sub(value) if sub is not None else value
    return out


def normalise_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A console ScanTemplate projected onto the fields render writes, in canonical form: equal
    to the rendered document when nobody changed it, different when anyone did (marker, ids,
    links and console-only fields left out)."""
    return _project(doc, RENDERED_SHAPE)
