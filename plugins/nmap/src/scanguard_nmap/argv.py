"""A neutral template as an nmap argument vector, and an argument vector back as a template.

NSE categories carry the vendor-neutral check categories (one table, CATEGORY_TERMS). Every
value is written explicitly, so that parsing the vector back recovers the template exactly;
options that are absent parse as nmap's own (permissive) defaults.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from scanguard import CompiledTemplate, PortSet, ScanTemplate, VendorCheck

VENDOR = "nmap"
NSE_BASE = ("default", "safe", "vuln")
CATEGORY_TERMS: dict[str, tuple[str, ...]] = {
    "dos": ("dos",),
    "brute-force": ("brute",),
    "exploit": ("exploit",),
    "intrusive": ("intrusive",),
    "fuzzing": ("fuzzer",),
    "default-credentials": ("auth",),
    "web-crawl": ("http-spider", "http-sitemap-generator"),
    "unsafe": (),  # expressed as "safe and ...": only scripts nmap marks safe run
}
"""Neutral category -> NSE categories or script names to leave out."""
NSE_CATEGORIES = frozenset({
    "auth", "broadcast", "brute", "default", "discovery", "dos", "exploit", "external", "fuzzer",
    "intrusive", "malware", "safe", "version", "vuln",
})
ALWAYS_LEFT_OUT = ("broadcast", "external")
"""NSE counts some of these as safe, yet broadcast scripts probe the whole local network whatever
the targets, and external scripts send target data to third-party services: never run them."""
CHECK_KINDS = frozenset({"script", "category"})
"""The kinds of nmap-specific check ids a profile can exclude."""
NMAP_DEFAULTS = {"parallel_hosts": 4096, "parallel_checks_per_host": 300, "timeout_s": 10}


def _ports_arg(ports: PortSet) -> str:
    parts = []
    tcp = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports.tcp.intervals)
    udp = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports.udp.intervals)
    if tcp:
        parts.append(f"T:{tcp}")
    if udp:
        parts.append(f"U:{udp}")
    return ",".join(parts)


def script_expression(t: ScanTemplate) -> str:
    """The --script expression: what may run minus every excluded category and script."""
    ch = t.checks
    base = "safe" if (ch.safe_only or "unsafe" in ch.excluded_categories) else "(" + " or ".join(NSE_BASE) + ")"
    terms: set[str] = set(ALWAYS_LEFT_OUT)
    for cat in ch.excluded_categories:
        terms.update(CATEGORY_TERMS.get(cat, ()))
    for vc in ch.excluded_vendor_checks:
        if vc.vendor != VENDOR:
            continue
        if vc.kind not in CHECK_KINDS:  # fail closed: an exclusion we cannot express is not dropped
            raise ValueError(f"nmap cannot exclude {vc.text()}: nmap check kinds are {', '.join(sorted(CHECK_KINDS))}")
        if vc.kind == "category" and vc.id not in NSE_CATEGORIES:
            raise ValueError(f"{vc.text()} is not an NSE category ({', '.join(sorted(NSE_CATEGORIES))})")
        if not re.fullmatch(r"[A-Za-z0-9_.*-]+", vc.id):
            raise ValueError(f"{vc.text()} is not a valid NSE script name")
        terms.add(vc.id)
    return " and ".join([base] + [f"not {x}" for x in sorted(terms)])


def render_argv(ct: CompiledTemplate, *, with_targets: bool = True) -> list[str]:
    """The nmap argument vector for a compiled template. Always `-n` (no reverse DNS)."""
    t = ct.template
    d, p = t.discovery, t.performance
    argv = ["nmap", "-n"]
    if t.ports.tcp:
        argv.append("-sS" if d.port_scan == "syn" else "-sT")
    if t.ports.udp:
        argv.append("-sU")
    if not t.ports:
        argv.append("-sn")
    else:
        argv += ["-p", _ports_arg(t.ports)]
    excluded = ct.constraints.excluded_ports
    if excluded and t.ports:
        argv += ["--exclude-ports", _ports_arg(excluded)]
    pings = []
    if d.icmp:
        pings.append("-PE")
    if d.tcp_ping and d.ping_ports.tcp:
        pings.append("-PS" + _ports_arg(PortSet(d.ping_ports.tcp)).removeprefix("T:"))
    if d.udp_ping and d.ping_ports.udp:
        pings.append("-PU" + _ports_arg(PortSet(None, d.ping_ports.udp)).removeprefix("U:"))
    argv += pings or ["-Pn"]
    if not d.arp:
        argv.append("--disable-arp-ping")
    if p.packets_per_second is not None:
        argv += ["--max-rate", str(p.packets_per_second)]
    if p.probe_delay_ms:
        argv += ["--scan-delay", f"{p.probe_delay_ms}ms"]
    argv += ["--max-parallelism", str(p.parallel_checks_per_host)]
    argv += ["--max-hostgroup", str(p.parallel_hosts)]
    argv += ["--max-rtt-timeout", f"{p.timeout_s}s"]
    if t.checks.enabled and t.ports:
        argv += ["-sV", "--script", script_expression(t)]
    if with_targets:
        if ct.targets.exclude:
            argv += ["--exclude", ",".join(ct.targets.exclude.blocks())]
        argv += ct.targets.include.blocks()  # nmap reads no a-b ranges
    return argv


def _duration_ms(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise ValueError(f"bad nmap time value {text!r}")
    value = float(m.group(1))
    unit = m.group(2) or "s"
    return int(round(value * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]))


def _parse_ports(text: str, default: str = "tcp") -> PortSet:
    tcp: list[str] = []
    udp: list[str] = []
    cur = default
    for item in text.split(","):
        item = item.strip()
        if item[:2].upper() == "T:":
            cur, item = "tcp", item[2:]
        elif item[:2].upper() == "U:":
            cur, item = "udp", item[2:]
        (tcp if cur == "tcp" else udp).append(item)
    return PortSet(PortSet.parse(",".join(tcp)).tcp if tcp else None, PortSet.parse(",".join(udp)).tcp if udp else None)


def _parse_expression(expr: str) -> tuple[bool, set[str]]:
    """(safe only, terms left out) from a script expression."""
    safe_only = expr.strip().startswith("safe")
    left_out = set(re.findall(r"not\s+([A-Za-z0-9_*.-]+)", expr))
    return safe_only, left_out


def parse_argv(argv: list[str] | str, name: str = "nmap") -> ScanTemplate:
    """The neutral template an nmap argument vector amounts to."""
    if isinstance(argv, str):
        argv = shlex.split(argv)
    args = list(argv[1:] if argv and argv[0].endswith("nmap") else argv)
    tcp_scan, udp_scan, no_ports = None, False, False
    ports: PortSet | None = None
    exclude = PortSet()
    icmp = tcp_ping = udp_ping = False
    ping_ports = PortSet()
    arp = True
    perf: dict[str, Any] = dict(NMAP_DEFAULTS)
    script: str | None = None
    version = False
    i = 0
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a in ("-sS", "-sT"):
            tcp_scan = "syn" if a == "-sS" else "connect"
        elif a == "-sU":
            udp_scan = True
        elif a == "-sn":
            no_ports = True
        elif a == "-p":
            ports = _parse_ports(nxt)
            i += 1
        elif a == "--exclude-ports":
            exclude = _parse_ports(nxt)
            i += 1
        elif a == "-PE":
            icmp = True
        elif a.startswith("-PS"):
            tcp_ping = True
            ping_ports = ping_ports | _parse_ports(a[3:] or "80")
        elif a.startswith("-PU"):
            udp_ping = True
            ping_ports = ping_ports | _parse_ports(a[3:] or "40125", "udp")
        elif a == "--disable-arp-ping":
            arp = False
        elif a == "--max-rate":
            perf["packets_per_second"] = max(1, int(float(nxt)))
            i += 1
        elif a == "--scan-delay":
            perf["probe_delay_ms"] = _duration_ms(nxt)
            i += 1
        elif a == "--max-parallelism":
            perf["parallel_checks_per_host"] = int(nxt)
            i += 1
        elif a == "--max-hostgroup":
            perf["parallel_hosts"] = int(nxt)
            i += 1
        elif a == "--max-rtt-timeout":
            perf["timeout_s"] = max(1, -(-_duration_ms(nxt) // 1000))
            i += 1
        elif a in ("--script", "--exclude", "-oX", "-oN", "-oG", "--stats-every", "-iL"):
            if a == "--script":
                script = nxt
            i += 1
        elif a == "-sV":
            version = True
        i += 1
    if no_ports:
        scanned = PortSet()
    else:
        default = PortSet.parse("1-1000") if tcp_scan or not udp_scan else PortSet()
        scanned = ports if ports is not None else default
        if not udp_scan:
            scanned = PortSet(scanned.tcp, None)
        scanned = scanned - exclude
    checks: dict[str, Any] = {"enabled": bool(script) or version, "safe_only": False}
    if script:
        safe_only, left_out = _parse_expression(script)
        cats = {c for c, terms in CATEGORY_TERMS.items() if terms and set(terms) <= left_out}
        if safe_only:
            cats.add("unsafe")
        vendor = frozenset(
            VendorCheck(vendor=VENDOR, kind="category" if x in NSE_CATEGORIES else "script", id=x) for x in left_out
        )
        checks.update(safe_only=safe_only, excluded_categories=cats, excluded_vendor_checks=vendor)
    return ScanTemplate(
        name=name,
        ports=scanned,
        discovery={
            "icmp": icmp, "arp": arp, "tcp_ping": tcp_ping, "udp_ping": udp_ping, "ping_ports": ping_ports,
            "port_scan": tcp_scan or ("syn" if not udp_scan else "connect"),
        },
        checks=checks,
        performance=perf,
    )
