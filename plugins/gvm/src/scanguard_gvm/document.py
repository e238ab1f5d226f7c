"""A compiled template as GVM's native document, and a native document back as a template.

The document describes the GVM objects of one template, with every value as gvmd holds it
(strings), so that what a live scanner holds can be read back into the same shape and compared:

    port_list    the ports to scan, as complement ranges (T: and U:)
    scan_config  copied from a base config: scanner preferences, NVT preferences (Ping Host for
                 discovery, the nmap wrapper for the port scan), family selection, the NVTs of
                 "Port scanners" selected one by one, NVTs left out
    target       hosts, exclude_hosts (exact addresses, see hosts.py), alive test, port list
    task         preferences max_checks and max_hosts
    leftovers    only as read from a scanner, and only when there are any: what interrupted runs
                 left of the template (client.py); render never writes it, parse ignores it

What GVM cannot express is rendered on the safe side and read back on the safe side:
- GVM has no UDP ping: UDP pings are never rendered.
- nmap's TCP ping (-PA) always probes port 80: a TCP ping is rendered only when port 80 is an
  allowed ping port, and reading back always counts port 80 as pinged. The scanner's own alive
  test (Boreas) probes `alive_test_ports` instead, its default list (443 among them) when unset:
  that preference is always written, and read back as pinged.
- GVM has no packet-rate cap. A rate is expressed as a minimum wait between probes (nmap's scan
  delay for the port scan, openvas's time_between_request for the checks), which bounds each probe
  stream to 1000/wait per second; reading back derives the rate from the wait.
- "Port scanners" is never selected whole: it also holds the OpenVAS TCP scanner, a port scanner
  that ignores the nmap wrapper's wait and parallelism. Only Ping Host and the nmap wrapper are
  selected; any other NVT of that family read back makes the rate and parallelism read as
  unlimited, and without the nmap wrapper every port counts as probed.
- A category is left out by its families and, where the other vendors need safe checks for it
  (dos, exploit, fuzzing, intrusive, unsafe), by safe_checks too; it reads back as left out only
  when both hold.
- Ports outside the port list count as scanned unless unscanned_closed(_udp) says "yes".
"""

from __future__ import annotations

import math
from typing import Any

from scanguard import AddressSet, CompiledTemplate, IntervalSet, PortSet, ScanTemplate, Targets, VendorCheck

from .hosts import gvm_items, read_gvm_hosts
from .vocabulary import (
    ALIVE_TEST_METHODS,
    ALIVE_TESTS,
    BOREAS_DEFAULT_PORTS,
    CATEGORY_MAP,
    CHECK_KINDS,
    FORMAT,
    FULL_AND_FAST,
    KNOWN_FAMILIES,
    NMAP_MAX_RTT,
    NMAP_MIN_WAIT,
    NMAP_NO_ARP,
    NMAP_PARALLEL,
    NMAP_TECHNIQUE,
    NMAP_WRAPPER,
    OPENVAS_DEFAULTS,
    PING_ARP,
    PING_ICMP,
    PING_MARK_DEAD,
    PING_PORTS,
    PING_PORTS_DEFAULT,
    PING_TCP,
    PING_TCP_ALSO_SYN,
    PING_TCP_ONLY_SYN,
    PORT_SCANNER_NVTS,
    PORT_SCANNERS,
    SYN_ALIVE_TESTS,
    SYN_TECHNIQUES,
    TCP_PING_ALWAYS,
    YES,
)

VENDOR = "gvm"
_FULL = IntervalSet([(1, 65535)])
UNBOUNDED_PARALLELISM = 65535
"""How parallelism reads when a port scanner that ignores the template's limits is selected."""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _ranges_text(iv: IntervalSet) -> str:
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in iv.intervals)


def exclusions(t: ScanTemplate) -> tuple[list[str], list[str]]:
    """(families to switch off, NVT OIDs to leave out) for a template's excluded checks.

    Fails closed: a GVM check id of a kind GVM cannot exclude raises ValueError rather than
    being dropped."""
    ch = t.checks
    families: set[str] = set()
    for cat in ch.excluded_categories:
        families.update(CATEGORY_MAP[cat].families if cat in CATEGORY_MAP else ())
    oids: set[str] = set()
    for vc in ch.excluded_vendor_checks:
        if vc.vendor != VENDOR:
            continue
        if vc.kind not in CHECK_KINDS:
            raise ValueError(f"GVM cannot exclude {vc.text()}: GVM check kinds are {', '.join(sorted(CHECK_KINDS))}")
        if vc.kind == "family":
            families.add(vc.id)
        elif not all(part.isdigit() for part in vc.id.split(".")):
            raise ValueError(f"{vc.text()} is not an NVT OID (like 1.3.6.1.4.1.25623.1.0.100315)")
        else:
            oids.add(vc.id)
    return sorted(families), sorted(oids)


def _pref(pref: tuple[str, int, str, str], value: str) -> dict[str, Any]:
    oid, pid, kind, name = pref
    return {"oid": oid, "id": pid, "type": kind, "name": name, "value": value}


def render(ct: CompiledTemplate, *, base_config: str = FULL_AND_FAST) -> dict[str, Any]:
    """The native document for a compiled template (see the module docstring)."""
    t = ct.template
    d, ch, p = t.discovery, t.checks, t.performance
    ranges = [{"type": "TCP", "start": lo, "end": hi} for lo, hi in t.ports.tcp.intervals]
    ranges += [{"type": "UDP", "start": lo, "end": hi} for lo, hi in t.ports.udp.intervals]
    tcp_ping = d.tcp_ping and TCP_PING_ALWAYS in d.ping_ports.tcp
    families, oids = exclusions(t)
    whole = [f for f in families if f != PORT_SCANNERS]
    if ch.enabled:
        selection = {"mode": "all-except", "families": whole}
    else:
        selection = {"mode": "only", "families": []}
    port_scanners = [] if PORT_SCANNERS in families else [o for o in PORT_SCANNER_NVTS if o not in oids]
    safe = ch.safe_only or any(CATEGORY_MAP[c].safe_checks for c in ch.excluded_categories if c in CATEGORY_MAP)
    wait = max(p.probe_delay_ms, math.ceil(1000 / p.packets_per_second) if p.packets_per_second else 0)
    # only matters while a TCP ping is on, which needs port 80 allowed (see the module docstring)
    ping_ports = _ranges_text(d.ping_ports.tcp) or str(TCP_PING_ALWAYS)
    nvt_prefs = [
        _pref(PING_TCP, _yes(tcp_ping)),
        _pref(PING_TCP_ALSO_SYN, "no"),
        _pref(PING_ICMP, _yes(d.icmp)),
        _pref(PING_ARP, _yes(d.arp)),
        _pref(PING_MARK_DEAD, "yes"),
        _pref(PING_TCP_ONLY_SYN, "no"),
        _pref(NMAP_TECHNIQUE, "SYN scan" if d.port_scan == "syn" else "connect()"),
        _pref(NMAP_MAX_RTT, str(p.timeout_s * 1000)),
        _pref(NMAP_PARALLEL, str(p.parallel_checks_per_host)),
        _pref(NMAP_MIN_WAIT, str(wait)),
        _pref(NMAP_NO_ARP, _yes(not d.arp)),
        _pref(PING_PORTS, ping_ports),
    ]
    include, exclude = ct.targets.include, ct.targets.exclude
    return {
        "format": FORMAT,
        "name": ct.name,
        "port_list": {"name": ct.name, "ranges": ranges},
        "scan_config": {
            "name": ct.name,
            "base_config": base_config,
            "scanner_preferences": {
                "safe_checks": _yes(safe),
                "time_between_request": str(wait),
                "checks_read_timeout": str(p.timeout_s),
                "unscanned_closed": "yes",
                "unscanned_closed_udp": "yes",
                "alive_test_ports": ping_ports,
            },
            "nvt_preferences": sorted(nvt_prefs, key=lambda x: (x["oid"], x["id"])),
            "family_selection": selection,
            "port_scanners": sorted(port_scanners),
            "nvt_selection": {"excluded": oids},
        },
        "target": {
            "name": ct.name,
            "hosts": gvm_items(include),
            # every address the template's targets leave out, exact (the scanner-side exclusion)
            "exclude_hosts": gvm_items(exclude),
            "alive_test": ALIVE_TESTS[(d.icmp, tcp_ping, d.arp)],
        },
        "task": {
            "name": ct.name,
            "preferences": {"max_checks": str(p.parallel_checks_per_host), "max_hosts": str(p.parallel_hosts)},
        },
    }


def _int(value: Any, default: int) -> int:
    if value is None or str(value).strip() == "":
        return default
    return int(str(value).strip())


def _tcp_ports(text: str) -> IntervalSet | None:
    """TCP ports of a port list text ("80,443", "T:80", "21-23"), None when it cannot be read."""
    try:
        items = [i.strip() for i in text.split(",") if i.strip()]
        if not items:
            return None
        return PortSet.parse(",".join(i[2:] if i[:2].upper() == "T:" else i for i in items
                                      if i[:2].upper() != "U:")).tcp
    except ValueError:
        return None


def parse(doc: Any) -> ScanTemplate:
    """The neutral template a native document amounts to, read on the safe side (see the
    module docstring). Raises ValueError for something that is not such a document."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a GVM document of format {FORMAT}")
    sc = doc["scan_config"]
    prefs: dict[str, str] = sc.get("scanner_preferences", {})
    nvt = {(x["oid"], int(x["id"])): str(x["value"]) for x in sc.get("nvt_preferences", [])}

    def pref(key: tuple[str, int, str, str], default: str | None = None) -> str | None:
        return nvt.get((key[0], key[1]), default)

    selection = sc.get("family_selection", {"mode": "all-except", "families": []})
    # an older document (or a hand edit) without the key: the whole family, every scanner in it
    port_scanners = set(sc.get("port_scanners", ["*"]))
    foreign_scanner = bool(port_scanners - set(PORT_SCANNER_NVTS))
    if selection["mode"] == "only":
        selected = set(selection["families"])
        enabled = bool(selected - {PORT_SCANNERS})
        disabled = set(KNOWN_FAMILIES) - selected - {PORT_SCANNERS}
    else:
        enabled = True
        disabled = set(selection["families"])
    if not port_scanners:
        disabled.add(PORT_SCANNERS)

    tcp_iv = IntervalSet([(r["start"], r["end"]) for r in doc["port_list"]["ranges"] if r["type"].upper() == "TCP"])
    udp_iv = IntervalSet([(r["start"], r["end"]) for r in doc["port_list"]["ranges"] if r["type"].upper() == "UDP"])
    # Without unscanned_closed, NVTs probe ports the port scan never opened: every port counts.
    if prefs.get("unscanned_closed") not in YES:
        tcp_iv = _FULL
    if prefs.get("unscanned_closed_udp") not in YES:
        udp_iv = _FULL
    if enabled and NMAP_WRAPPER not in port_scanners and not foreign_scanner:
        tcp_iv, udp_iv = _FULL, _FULL  # no port scan: nothing tells the checks which ports are closed

    alive = doc["target"].get("alive_test") or "Scan Config Default"
    if alive == "Scan Config Default":
        by_target = (True, False, False)  # the scanner's alive test pings ICMP; Ping Host's preferences, below
    else:
        by_target = ALIVE_TEST_METHODS.get(alive, (True, True, True))  # unknown: assume everything
    icmp = by_target[0] or pref(PING_ICMP) == "yes"
    tcp = by_target[1] or pref(PING_TCP) == "yes"
    # A TCP ping that sends SYN is a SYN probe: the TCP-SYN alive test, one this reader does not
    # know (say "TCP-SYN Service & ARP Ping"), or Ping Host told to try SYN too (or only SYN).
    syn_ping = (alive in SYN_ALIVE_TESTS or (alive != "Scan Config Default" and alive not in ALIVE_TEST_METHODS)
                or (pref(PING_TCP) == "yes" and "yes" in (pref(PING_TCP_ALSO_SYN), pref(PING_TCP_ONLY_SYN))))
    arp = by_target[2] or pref(PING_ARP) == "yes" or pref(NMAP_NO_ARP) != "yes"
    ping_ports = PortSet()
    if tcp:
        # Ping Host's nmap -PA ports (with 80 always), and the scanner's own alive test ports
        ping_ports = PortSet.parse(pref(PING_PORTS, PING_PORTS_DEFAULT) or PING_PORTS_DEFAULT) | PortSet.parse(
            str(TCP_PING_ALWAYS))
        boreas = _tcp_ports(prefs.get("alive_test_ports") or BOREAS_DEFAULT_PORTS)
        if boreas is None:  # unreadable: the scanner falls back to the port list; count its default too
            boreas = PortSet.parse(BOREAS_DEFAULT_PORTS).tcp | tcp_iv
        ping_ports = ping_ports | PortSet(boreas, None)
    if syn_ping and not tcp_iv:
        tcp_iv = ping_ports.tcp  # a SYN ping probes its ports even where no port is scanned

    safe = prefs.get("safe_checks") in YES
    categories = {c for c, m in CATEGORY_MAP.items()
                  if set(m.families) <= disabled and (safe or not m.safe_checks)}
    vendor = {VendorCheck(vendor=VENDOR, kind="family", id=f) for f in disabled}
    vendor |= {VendorCheck(vendor=VENDOR, kind="oid", id=o) for o in sc.get("nvt_selection", {}).get("excluded", [])}

    task_prefs = doc.get("task", {}).get("preferences", {})
    waits = [_int(prefs.get("time_between_request"), 0)]
    if pref(NMAP_MIN_WAIT) not in (None, ""):
        waits.append(_int(pref(NMAP_MIN_WAIT), 0))
    wait = 0 if foreign_scanner else min(waits)  # the faster of the probe streams bounds the rate
    timeout = _int(prefs.get("checks_read_timeout"), OPENVAS_DEFAULTS["checks_read_timeout"])
    if pref(NMAP_MAX_RTT) not in (None, ""):
        timeout = max(timeout, math.ceil(_int(pref(NMAP_MAX_RTT), 0) / 1000))
    checks = _int(task_prefs.get("max_checks"), OPENVAS_DEFAULTS["max_checks"])
    if pref(NMAP_PARALLEL) not in (None, ""):
        checks = max(checks, _int(pref(NMAP_PARALLEL), 0))
    if foreign_scanner:
        checks = UNBOUNDED_PARALLELISM
    return ScanTemplate(
        name=doc["name"],
        ports=PortSet(tcp_iv, udp_iv),
        discovery={
            "icmp": icmp, "arp": arp, "tcp_ping": tcp, "udp_ping": False, "ping_ports": ping_ports,
            "port_scan": "syn" if pref(NMAP_TECHNIQUE, "connect()") in SYN_TECHNIQUES or syn_ping else "connect",
        },
        checks={"enabled": enabled, "safe_only": safe, "excluded_categories": categories,
                "excluded_vendor_checks": vendor},
        performance={
            "packets_per_second": max(1, 1000 // wait) if wait > 0 else None,
            "parallel_hosts": max(1, _int(task_prefs.get("max_hosts"), OPENVAS_DEFAULTS["max_hosts"])),
            "parallel_checks_per_host": max(1, checks),
            "probe_delay_ms": wait,
            "timeout_s": max(1, timeout),
        },
    )


def parse_targets(doc: Any) -> Targets:
    """Where a native document's target aims, read as gvmd reads it (hosts.py: a CIDR block
    without its first and last address): its hosts (none: chosen on the scanner) less its
    exclude_hosts. A host gvmd would resolve by name cannot be judged: the target then counts
    as reaching anywhere, and a name among the excluded hosts excludes nothing."""
    if not isinstance(doc, dict) or not isinstance(doc.get("target"), dict):
        raise ValueError(f"not a GVM document of format {FORMAT}")
    target = doc["target"]
    include, unknown = read_gvm_hosts(",".join(target.get("hosts") or ()))
    exclude, _names = read_gvm_hosts(",".join(target.get("exclude_hosts") or ()))
    return Targets(include=AddressSet.everything() if unknown else include, exclude=exclude)
