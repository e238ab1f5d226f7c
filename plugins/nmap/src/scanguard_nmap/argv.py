"""A neutral template as an nmap argument vector (and, through scanguard_nmap.command, an nmap
command line back as a template).

Rendering writes every value explicitly (ports, pings, rates, the script expression), so that
the vector reads back as the template; README.md lists each mapping and why.
"""

from __future__ import annotations

import re

from scanguard import CompiledTemplate, PortSet, ScanTemplate

from .command import parse_argv
from .mapping import ALWAYS_LEFT_OUT, CATEGORY_TERMS, CHECK_KINDS, NSE_BASE, VENDOR
from .nse import CATEGORIES as NSE_CATEGORIES
from .targets import families, nmap_items

__all__ = ["parse_argv", "render_argv", "render_argvs", "script_expression", "version_detection_allowed",
           "version_script_rule"]


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
    base, terms = _script_parts(t)
    # one "not (a or b ...)": nmap 7.93 takes time exponential in the number of "and"s of a rule
    # (13 take 13 s, 30 would never finish), while a long "or" list costs nothing
    return f"{base} and not ({' or '.join(terms)})"


def version_script_rule(t: ScanTemplate) -> str:
    """The rule a version script (one ``-sV`` runs by itself) must meet to keep the template's
    checks: ``safe`` under safe checks only, any otherwise, never an excluded category or script.
    Only a run that controls nmap's script database can apply it (scanguard_nmap.scriptdb)."""
    base, terms = _script_parts(t)
    return f"{'safe' if base == 'safe' else 'all'} and not ({' or '.join(terms)})"


def _script_parts(t: ScanTemplate) -> tuple[str, list[str]]:
    """(what may run, the sorted categories and scripts left out)."""
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
    return base, sorted(terms)


def version_detection_allowed(t: ScanTemplate) -> bool:
    """Whether ``-sV`` keeps the template's checks. Version detection sends nmap's service probes
    to every open port and runs the NSE "version" scripts, which no --script expression can
    leave out: so never where intrusive checks are excluded, where only safe checks may run (21 of
    the 45 version scripts of nmap 7.93 are not in "safe"), or where the profile excludes any nmap
    category or script (a version script may be among them)."""
    ch = t.checks
    return (ch.enabled and not ch.safe_only and not {"intrusive", "unsafe"} & ch.excluded_categories
            and not any(vc.vendor == VENDOR for vc in ch.excluded_vendor_checks))


def _options(ct: CompiledTemplate) -> list[str]:
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
    # nmap (as root) sends -PS as a raw, half-open SYN; with SYN scans forbidden there is no TCP
    # ping to send (--unprivileged would also stop ICMP, ARP and UDP): the other pings, or none
    if d.tcp_ping and d.ping_ports.tcp and d.port_scan == "syn":
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
        if version_detection_allowed(t):
            argv.append("-sV")
        argv += ["--script", script_expression(t)]
    return argv


def render_argvs(ct: CompiledTemplate) -> list[list[str]]:
    """One argument vector per address family among the targets (nmap scans one family per
    run; IPv6 with -6), each with its own --exclude; one vector without targets when the
    template leaves them to the scanner (then every exclusion is kept)."""
    base = _options(ct)
    include, exclude = ct.targets.include, ct.targets.exclude
    fams = families(include)
    if not fams:
        items = nmap_items(exclude, 4) + nmap_items(exclude, 6)
        return [base + (["--exclude", ",".join(items)] if items else [])]
    out = []
    for fam in fams:
        argv = base + (["-6"] if fam == 6 else [])
        items = nmap_items(exclude, fam)
        if items:
            argv += ["--exclude", ",".join(items)]
        out.append(argv + nmap_items(include, fam))
    return out


def render_argv(ct: CompiledTemplate, *, with_targets: bool = True) -> list[str]:
    """The nmap argument vector for a compiled template. Always `-n` (no reverse DNS). A template
    whose targets mix IPv4 and IPv6 needs two runs: see `render_argvs`."""
    if not with_targets:
        return _options(ct)
    argvs = render_argvs(ct)
    if len(argvs) > 1:
        raise ValueError(f"{ct.name} targets IPv4 and IPv6 addresses: nmap needs one run per family (render_argvs)")
    return argvs[0]
