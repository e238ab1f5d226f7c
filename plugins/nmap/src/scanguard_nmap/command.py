"""An nmap command line someone else wrote, read back as a neutral template.

For a payload given to ``check --payload`` or the command line an ``-oX`` export recorded. Every
option is read the way nmap 7.93 reads it (its getopt string and long options), nmap's own
defaults fill in what is left out (its top 1,000 ports, its default pings), and what cannot be
judged is refused with ValueError: an option scanguard does not know, one whose traffic the
neutral model has no word for (SCTP, IP protocol, idle, bounce, fragments, decoys, bad checksums,
appended data), or defaults that cannot be read here (nmap-services). A command nmap itself
would refuse is refused too.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from scanguard import IntervalSet, PortSet, ScanTemplate, VendorCheck

from .mapping import (
    ALL_PORTS, CATEGORY_TERMS, CRAWLER_SCRIPTS, DEFAULT_PING_PORTS, NMAP_DEFAULTS, VENDOR, VERSION_SCRIPT_CATEGORIES,
)
from .nse import CATEGORIES as NSE_CATEGORIES
from .nse import Selection, parse_rules
from . import services as nmap_services
from .services import Services, load_from

SHORT_OPTIONS = "46Ab:D:d::e:Ffg:hIi:M:m:nO::o:P:p:qRrS:s:T:Vv::"
"""nmap's getopt string (nmap.cc): a letter, then ':' for a required and '::' for an attached
optional argument."""
LONG_WITH_ARGUMENT = frozenset({
    "datadir", "servicedb", "versiondb", "max-os-tries", "max-parallelism", "min-parallelism", "timing",
    "max-rtt-timeout", "min-rtt-timeout", "initial-rtt-timeout", "excludefile", "exclude", "max-hostgroup",
    "min-hostgroup", "scanflags", "host-timeout", "scan-delay", "max-scan-delay", "max-retries", "oA", "oN", "oM",
    "oG", "oS", "oH", "oX", "iL", "iR", "sI", "source-port", "nsock-engine", "proxies", "proxy", "data",
    "data-string", "data-length", "stylesheet", "mtu", "spoof-mac", "ttl", "version-intensity", "dns-servers",
    "port-ratio", "exclude-ports", "top-ports", "script", "script-args", "script-args-file", "script-help",
    "script-timeout", "ip-options", "min-rate", "max-rate", "stats-every", "route-dst", "resume",
})
LONG_FLAGS = frozenset({
    "version", "verbose", "help", "iflist", "release-memory", "nogcc", "open", "defeat-rst-ratelimit",
    "defeat-icmp-ratelimit", "randomize-hosts", "osscan-limit", "osscan-guess", "fuzzy", "packet-trace",
    "version-trace", "send-eth", "send-ip", "no-stylesheet", "webxml", "rH", "vv", "ff", "privileged",
    "unprivileged", "append-output", "noninteractive", "thc", "badsum", "traceroute", "reason", "allports",
    "version-light", "version-all", "system-dns", "log-errors", "deprecated-xml-osclass", "script-trace",
    "script-updatedb", "adler32", "disable-arp-ping", "discovery-ignore-rst", "unique", "resolve-all", "debug",
})
"""nmap 7.93's long options (``_`` and ``-`` spellings alike; ``--debug`` also takes ``=level``)."""
NOT_JUDGED = {
    "sI": "an idle scan (its probes are spoofed through a zombie host)",
    "data": "a custom payload appended to every probe", "data-string": "a custom payload appended to every probe",
    "data-length": "random data appended to every probe", "mtu": "fragmented packets", "ff": "fragmented packets",
    "badsum": "packets with bad checksums", "ip-options": "packets with IP options",
    "proxies": "connections relayed through proxies", "proxy": "connections relayed through proxies",
    "resume": "a resumed scan (its options are in the log file, not here)",
    "servicedb": "a custom services file (it also changes which ports nmap picks)",
}
"""Options whose traffic the neutral template has no word for: a command using them is not judged."""
SCAN_LETTERS = {"S": "syn", "T": "connect", "A": "ack", "W": "window", "M": "maimon", "N": "null", "F": "fin",
                "X": "xmas"}
"""-s letters that choose the TCP scan: SYN, connect, and the other raw ones, which, like SYN, are
not the full connect a SYN-forbidding profile allows."""
NOT_JUDGED_SCANS = {"Y": "an SCTP INIT scan", "Z": "an SCTP COOKIE-ECHO scan", "O": "an IP protocol scan",
                    "B": "no such scan type (nmap refuses -sB)"}
EXITS_BEFORE_SCANNING = frozenset({"version", "help", "thc", "script-help", "iflist"})
"""Options after which nmap prints something and exits without sending a probe."""
TIMING = ("paranoid", "sneaky", "polite", "normal", "aggressive", "insane")
REFUSED_SHORT = {"b": "an FTP bounce scan", "D": "decoys (every probe sent again from other addresses)",
                 "f": "fragmented packets"}


def _optstring(spec: str) -> dict[str, int]:
    """letter -> 0 (flag), 1 (required argument), 2 (attached optional argument)."""
    out, j = {}, 0
    while j < len(spec):
        colons = len(spec[j + 1:]) - len(spec[j + 1:].lstrip(":"))
        out[spec[j]] = colons
        j += 1 + colons
    return out


_SHORT = _optstring(SHORT_OPTIONS)
_LONG = LONG_FLAGS | LONG_WITH_ARGUMENT


@dataclass
class NmapCommand:
    """What an nmap command line asks for, option by option (before nmap's defaults), and the
    targets and exclusions it names."""

    tcp_scans: set[str] = field(default_factory=set)
    udp: bool = False
    no_port_scan: bool = False
    list_scan: bool = False
    exits: bool = False
    version: bool = False
    default_scripts: bool = False
    scripts: list[str] = field(default_factory=list)
    unsafe_script_args: bool = False
    os: bool = False
    traceroute: bool = False
    pings: set[str] = field(default_factory=set)
    ping_ports: PortSet = field(default_factory=PortSet)
    no_ping: bool = False
    disable_arp: bool = False
    send_ip: bool = False
    unprivileged: bool = False
    port_spec: str | None = None
    exclude_spec: str | None = None
    top: tuple[str, float] | None = None
    fast: bool = False
    datadir: str | None = None
    max_rate: float | None = None
    scan_delay_ms: int | None = None
    max_scan_delay_ms: int | None = None
    max_parallelism: int | None = None
    min_parallelism: int | None = None
    max_hostgroup: int | None = None
    min_hostgroup: int | None = None
    max_rtt_ms: int | None = None
    targets: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    targets_unknown: bool = False  # -iL, -iR: targets nmap reads from elsewhere


def _duration_ms(text: str, option: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise ValueError(f"{option}: bad nmap time value {text!r}")
    value = float(m.group(1))
    unit = m.group(2) or "s"
    return int(math.ceil(value * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]))


def _int(text: str, option: str, low: int = 1) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{option} takes a whole number, not {text!r}") from None
    if value < low:
        raise ValueError(f"{option} must be at least {low}")
    return value


def _number(text: str, option: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"{option} takes a number, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{option} must be a positive number")
    return value


def _simple_ports(text: str, option: str) -> IntervalSet:
    """A ping port list (numbers and ranges only, as nmap's getpts_simple reads them)."""
    try:
        return PortSet.parse(text.replace(" ", "")).tcp
    except ValueError as e:
        raise ValueError(f"{option}: {e}") from None


def _ping(cmd: NmapCommand, arg: str) -> None:
    kind, rest = (arg[:1], arg[1:]) if arg else ("E", "")
    if kind in ("E", "I", "P", "M"):
        cmd.pings.add("icmp")
    elif kind in ("n", "0", "N", "D"):
        cmd.no_ping = True
    elif kind == "R":
        cmd.pings.add("arp")
    elif kind in ("S", "A", "T", "B"):
        if kind == "B":
            cmd.pings.update({"icmp", "default-tcp"})
        cmd.pings.add("tcp-syn" if kind == "S" else "tcp-ack")
        ports = _simple_ports(rest, f"-P{kind}") if rest else PortSet.parse("80").tcp
        cmd.ping_ports = cmd.ping_ports | PortSet(ports)
    elif kind == "U":
        cmd.pings.add("udp")
        ports = _simple_ports(rest, "-PU") if rest else PortSet.parse("40125").tcp
        cmd.ping_ports = cmd.ping_ports | PortSet(None, ports)
    elif kind == "Y":
        raise ValueError("-PY sends SCTP INIT pings, which scanguard cannot judge")
    elif kind == "O":
        raise ValueError("-PO sends IP protocol pings, which scanguard cannot judge")
    else:
        raise ValueError(f"-P{arg}: nmap knows no such ping type")


def _scan_letters(cmd: NmapCommand, letters: str) -> None:
    if not letters:
        raise ValueError("-s needs a scan type (like -sS or -sT)")
    for ch in letters:
        if ch in SCAN_LETTERS:
            cmd.tcp_scans.add(SCAN_LETTERS[ch])
        elif ch == "U":
            cmd.udp = True
        elif ch in ("n", "P"):
            cmd.no_port_scan = True
        elif ch == "L":
            cmd.list_scan = cmd.no_port_scan = True
        elif ch in ("V", "R"):
            cmd.version = True
        elif ch == "C":
            cmd.default_scripts = True
        elif ch in NOT_JUDGED_SCANS:
            raise ValueError(f"-s{ch} is {NOT_JUDGED_SCANS[ch]}, which scanguard cannot judge")
        else:
            raise ValueError(f"-s{ch}: nmap knows no such scan type")


def _timing(arg: str) -> None:
    if not (arg[:1] in "012345" and arg[:1] or arg.lower() in TIMING):
        raise ValueError(f"-T{arg}: nmap knows no such timing template")
    # the templates only slow nmap down (T0-T2) or shorten its timeouts (T4, T5): reading them
    # as the defaults is the cautious reading


def _long(cmd: NmapCommand, name: str, arg: str | None) -> None:
    if name in NOT_JUDGED:
        raise ValueError(f"--{name} asks for {NOT_JUDGED[name]}, which scanguard cannot judge")
    if name in EXITS_BEFORE_SCANNING:
        cmd.exits = True
    handlers: dict[str, Callable[[str], None]] = {
        "script": lambda a: cmd.scripts.append(a),
        "exclude": lambda a: cmd.excluded.extend(x.strip() for x in a.split(",") if x.strip()),
        "iL": lambda a: setattr(cmd, "targets_unknown", True),
        "iR": lambda a: setattr(cmd, "targets_unknown", True),
        "script-args": lambda a: setattr(cmd, "unsafe_script_args", cmd.unsafe_script_args
                                         or bool(re.search(r"(^|[,{\s])unsafe\s*=", a))),
        "script-args-file": lambda a: setattr(cmd, "unsafe_script_args", True),  # unread: may say unsafe=1
        "exclude-ports": lambda a: _once(cmd, "exclude_spec", a, "--exclude-ports"),
        "top-ports": lambda a: setattr(cmd, "top", ("count", float(_int(a, "--top-ports")))),
        "port-ratio": lambda a: setattr(cmd, "top", ("ratio", _ratio(a))),
        "datadir": lambda a: setattr(cmd, "datadir", a),
        "max-rate": lambda a: setattr(cmd, "max_rate", _number(a, "--max-rate")),
        "min-rate": lambda a: _number(a, "--min-rate") and None,
        "scan-delay": lambda a: setattr(cmd, "scan_delay_ms", _duration_ms(a, "--scan-delay")),
        "max-scan-delay": lambda a: setattr(cmd, "max_scan_delay_ms", _duration_ms(a, "--max-scan-delay")),
        "max-parallelism": lambda a: setattr(cmd, "max_parallelism", _int(a, "--max-parallelism")),
        "min-parallelism": lambda a: setattr(cmd, "min_parallelism", _int(a, "--min-parallelism")),
        "max-hostgroup": lambda a: setattr(cmd, "max_hostgroup", _int(a, "--max-hostgroup")),
        "min-hostgroup": lambda a: setattr(cmd, "min_hostgroup", _int(a, "--min-hostgroup")),
        "max-rtt-timeout": lambda a: setattr(cmd, "max_rtt_ms", _duration_ms(a, "--max-rtt-timeout")),
        "timing": _timing,
        "scanflags": lambda a: cmd.tcp_scans.add("custom flags"),
        "traceroute": lambda a: setattr(cmd, "traceroute", True),
        "disable-arp-ping": lambda a: setattr(cmd, "disable_arp", True),
        "send-ip": lambda a: setattr(cmd, "send_ip", True),
        "unprivileged": lambda a: setattr(cmd, "unprivileged", True),
        "privileged": lambda a: setattr(cmd, "unprivileged", False),
    }
    handler = handlers.get(name)
    if handler is not None:
        handler(arg or "")


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--port-ratio takes a number between 0 and 1, not {text!r}") from None
    if not 0 <= value < 1:
        raise ValueError("--port-ratio must be between 0 and 1")
    return value


def _once(cmd: NmapCommand, attr: str, value: str, option: str) -> None:
    if getattr(cmd, attr) is not None:
        raise ValueError(f"nmap refuses more than one {option}")
    setattr(cmd, attr, value)


def _short(cmd: NmapCommand, letter: str, arg: str | None) -> None:
    if letter in REFUSED_SHORT:
        raise ValueError(f"-{letter} asks for {REFUSED_SHORT[letter]}, which scanguard cannot judge")
    if letter in "hV":
        cmd.exits = True
    elif letter == "A":
        cmd.version = cmd.default_scripts = cmd.os = cmd.traceroute = True
    elif letter == "F":
        cmd.fast = True
    elif letter == "M":
        cmd.max_parallelism = _int(arg or "", "-M")
    elif letter == "O":
        if arg not in (None, "", "2"):
            raise ValueError(f"-O{arg}: nmap refuses this OS detection argument")
        cmd.os = True
    elif letter == "P":
        _ping(cmd, arg or "")
    elif letter == "p":
        _once(cmd, "port_spec", arg or "", "-p")
    elif letter == "s":
        _scan_letters(cmd, arg or "")
    elif letter == "T":
        _timing(arg or "")


def read_command(args: list[str]) -> NmapCommand:
    """Every option of an nmap argument list (without "nmap"), read as nmap reads it; ValueError
    for what cannot be judged."""
    cmd = NmapCommand()
    rest = iter(args)

    def argument(option: str) -> str:
        value = next(rest, None)
        if value is None:
            raise ValueError(f"{option} needs an argument")
        return value

    for tok in rest:
        if tok == "--":
            cmd.targets.extend(rest)
            break
        if not tok.startswith("-") or tok == "-":
            cmd.targets.append(tok)
            continue
        body = tok[2:] if tok.startswith("--") else tok[1:]
        name, eq, value = body.partition("=")
        canonical = name if name in _LONG else name.replace("_", "-")
        is_long = canonical in _LONG
        # nmap reads "-script" as "--script" (getopt_long_only), a lone letter as a short option
        if tok.startswith("--") or (is_long and len(name) > 1):
            if not is_long:
                raise ValueError(f"{tok}: not an nmap option scanguard knows (write options out in full)")
            if canonical in LONG_WITH_ARGUMENT:
                _long(cmd, canonical, value if eq else argument(tok))
            elif eq and canonical != "debug":
                raise ValueError(f"{tok}: --{canonical} takes no argument")
            else:
                _long(cmd, canonical, None)
            continue
        for k, letter in enumerate(tok[1:], start=1):
            kind = _SHORT.get(letter)
            if kind is None:
                raise ValueError(f"{tok}: -{letter} is not an nmap option")
            if kind == 0:
                _short(cmd, letter, None)
                continue
            attached = tok[k + 1:]
            if kind == 2:
                _short(cmd, letter, attached or None)
            else:
                _short(cmd, letter, attached or argument(f"-{letter}"))
            break
    return cmd


# --- ports, the way nmap's getpts reads them --------------------------------------------------

def _port_items(spec: str, option: str) -> list[tuple[str, str]]:
    """(protocol context, item) pairs: "all" until the first T:/U:/S:/P: prefix."""
    out = []
    proto = "all"
    for raw in spec.split(","):
        item = raw.strip()
        m = re.match(r"^([A-Za-z]):", item)
        if m:
            letter = m.group(1)
            proto = {"T": "tcp", "U": "udp", "S": "sctp", "P": "ip"}.get(letter, "")
            if not proto:
                raise ValueError(f"{option} {spec!r}: unknown protocol prefix {letter!r}: (nmap reads T:, U:, S:, P:)")
            item = item[2:].strip()
        if not item:
            raise ValueError(f"{option} {spec!r}: empty port item")
        out.append((proto, item))
    return out


def _range(item: str, option: str) -> tuple[int, int] | None:
    """The (low, high) ports of a port or range item; None for port 0 alone (no profile can name it)."""
    if item.isdecimal():  # the common case: one port
        lo = hi = int(item)
    else:
        m = _RANGE.fullmatch(item)
        if not m:
            raise ValueError(f"{option}: {item!r} is not a port, range, service name or [range]")
        lo = int(m.group(1)) if m.group(1) else 1
        hi = int(m.group(2)) if m.group(2) else 65535
    if hi > 65535 or lo > 65535:
        raise ValueError(f"{option}: ports must be between 0 and 65535 ({item!r})")
    if lo > hi:
        raise ValueError(f"{option}: the port range {item!r} runs backwards")
    return (max(lo, 1), hi) if hi >= 1 else None


_RANGE = re.compile(r"(\d*)\s*-\s*(\d*)")
_PROTOCOLS_OF = {"all": ("tcp", "udp"), "tcp": ("tcp",), "udp": ("udp",)}


_SIMPLE_SPEC = re.compile(r"(?:[TU]:)?[0-9]+(?:-[0-9]+)?(?:,(?:[TU]:)?[0-9]+(?:-[0-9]+)?)*")
_SIMPLE_ITEM = re.compile(r"(?:([TU]):)?([0-9]+)(?:-([0-9]+))?")


def _simple_spec_ports(spec: str) -> PortSet | None:
    """The ports of an argument made only of ports and ranges with T:/U: prefixes, the way
    scanguard renders them (thousands of items for a complement), read in one pass; None for
    anything else, or anything wrong, which `_spec_ports` reads item by item and explains."""
    if not _SIMPLE_SPEC.fullmatch(spec):
        return None
    tcp: list[tuple[int, int]] = []
    udp: list[tuple[int, int]] = []
    into: tuple[list[tuple[int, int]], ...] = (tcp, udp)  # no prefix yet: both protocols
    for letter, first, last in _SIMPLE_ITEM.findall(spec):
        if letter:
            into = (tcp,) if letter == "T" else (udp,)
        lo = int(first)
        hi = int(last) if last else lo
        if hi > 65535 or lo > hi:
            return None
        if hi >= 1:  # port 0 alone: no profile can name it
            for ports in into:
                ports.append((max(lo, 1), hi))
    return PortSet(IntervalSet(tcp), IntervalSet(udp))


def _spec_ports(spec: str, option: str, protocols: tuple[str, ...], services: Callable[[], Services]) -> PortSet:
    """The ports of a -p or --exclude-ports argument, per protocol."""
    simple = _simple_spec_ports(spec)
    return simple if simple is not None else _spec_ports_by_item(spec, option, protocols, services)


def _spec_ports_by_item(spec: str, option: str, protocols: tuple[str, ...],
                        services: Callable[[], Services]) -> PortSet:
    """`_spec_ports` for any argument nmap reads: names, brackets, open ranges, every prefix."""
    # intervals are collected and normalised once: a port list of thousands of items (a rendered
    # complement) must not rebuild the set item by item
    out: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    for ctx, item in _port_items(spec, option):
        targets = _PROTOCOLS_OF.get(ctx, ())
        if not targets:
            continue  # SCTP and IP protocol numbers: those scans are refused before this matters
        if item.startswith("[") and item.endswith("]"):
            inner = item[1:-1].strip()
            if not inner:
                raise ValueError(f"{option}: empty brackets")
            span = (1, 65535) if inner == "*" else _range(inner, option)
            within = IntervalSet([span] if span else [])
            for p in targets:
                out[p].extend((services().ports(p) & within).intervals)
        elif item[0].isdigit() or item[0] == "-":
            got = _range(item, option)
            if got is not None:
                for p in targets:
                    out[p].append(got)
        elif re.fullmatch(r"[A-Za-z0-9_.*?+/-]+", item):
            found = False
            for p in targets:
                if p not in protocols and ctx == "all":
                    continue  # nmap matches names only for the protocols it scans
                named = services().named(item, p)
                found = found or bool(named)
                out[p].extend(named.intervals)
            if not found:
                raise ValueError(f"{option}: no service named {item!r} in nmap-services (nmap refuses it too)")
        else:
            raise ValueError(f"{option}: {item!r} is not a port, range, service name or [range]")
    return PortSet(IntervalSet(out["tcp"]), IntervalSet(out["udp"]))


def _scanned_ports(cmd: NmapCommand, protocols: tuple[str, ...]) -> PortSet:
    if cmd.fast and cmd.port_spec is not None and cmd.top is None:
        raise ValueError("nmap refuses -F with -p (use --top-ports or --port-ratio with -p)")
    # the same port arguments recur in every template of a workspace (a rendered complement can
    # be thousands of items): read once per argument set and nmap-services file (the PortSet is
    # immutable; errors are not remembered)
    return _ports_of(cmd.port_spec, cmd.exclude_spec, protocols, cmd.top, cmd.fast,
                     tuple(nmap_services.candidates(cmd.datadir)))


@lru_cache(maxsize=64)
def _ports_of(port_spec: str | None, exclude_spec: str | None, protocols: tuple[str, ...],
              top: tuple[str, float] | None, fast: bool, where: tuple[Path, ...]) -> PortSet:
    loaded: list[Services] = []

    def services() -> Services:
        if not loaded:
            loaded.append(load_from(where))
        return loaded[0]

    spec = _spec_ports(port_spec, "-p", protocols, services) if port_spec is not None else None
    excluded = (_spec_ports(exclude_spec, "--exclude-ports", protocols, services) if exclude_spec is not None
                else PortSet())
    by: dict[str, IntervalSet] = {}
    for p in protocols:
        among = (spec.get(p) if spec is not None else IntervalSet([(1, 65535)])) - excluded.get(p)  # type: ignore[arg-type]
        if top is not None:
            kind, level = top
            by[p] = services().top(p, count=int(level), among=among) if kind == "count" else \
                services().top(p, ratio=level, among=among)
        elif fast:
            by[p] = services().top(p, count=100, among=among)
        elif spec is None:
            by[p] = services().top(p, count=1000, among=among)
        else:
            by[p] = among
    return PortSet(by.get("tcp"), by.get("udp"))


# --- the neutral template ---------------------------------------------------------------------

def _checks(cmd: NmapCommand) -> dict[str, Any]:
    got = _checks_of(tuple(cmd.scripts), cmd.default_scripts, cmd.version, cmd.os, cmd.unsafe_script_args)
    return {k: set(v) if isinstance(v, frozenset) else v for k, v in got.items()}


@lru_cache(maxsize=64)
def _checks_of(scripts: tuple[str, ...], default_scripts: bool, version: bool, os_: bool,
               unsafe_script_args: bool) -> dict[str, Any]:
    # the script rules recur in every template of a workspace; judging them is a search over
    # assignments, so it is done once per set of options (the caller gets its own copy)
    cmd = NmapCommand(scripts=list(scripts), default_scripts=default_scripts, version=version, os=os_,
                      unsafe_script_args=unsafe_script_args)
    rules = []
    for s in cmd.scripts:
        rules += parse_rules(s)
    if cmd.default_scripts:
        rules += parse_rules("default")
    selection = Selection(rules)
    enabled = bool(rules) or cmd.version or cmd.os
    if not enabled:
        return {"enabled": False, "safe_only": False}
    # -sV runs the version scripts whatever --script says, and is (like -O) intrusive probing
    safe_only = not (cmd.version or cmd.os or cmd.unsafe_script_args) and selection.only_safe()
    nse_out = {c for c in NSE_CATEGORIES
               if not selection.category_can_run(c) and not (cmd.version and c in VERSION_SCRIPT_CATEGORIES)}
    names = selection.names() | {n for terms in CATEGORY_TERMS.values() for n in terms if n not in NSE_CATEGORIES}
    scripts_out = {n for n in names if not selection.script_can_run(n)
                   and (not cmd.version or n in CRAWLER_SCRIPTS)}  # -sV may run any version script

    def left_out(term: str) -> bool:
        return term in nse_out if term in NSE_CATEGORIES else term in scripts_out

    cats = {c for c, terms in CATEGORY_TERMS.items() if terms and all(left_out(t) for t in terms)}
    if cmd.version or cmd.os:
        cats.discard("intrusive")
    if safe_only:
        cats.add("unsafe")
    vendor = {VendorCheck(vendor=VENDOR, kind="category", id=c) for c in nse_out}
    vendor |= {VendorCheck(vendor=VENDOR, kind="script", id=n) for n in scripts_out}
    return {"enabled": True, "safe_only": safe_only, "excluded_categories": frozenset(cats),
            "excluded_vendor_checks": frozenset(vendor)}


def _template(cmd: NmapCommand, name: str, recorded: PortSet | None, privileged: bool | None) -> ScanTemplate:
    if cmd.exits:  # nmap prints help, a version or a list and exits: nothing is sent
        return ScanTemplate(name=name, ports=PortSet(), checks={"enabled": False},
                            discovery={"icmp": False, "arp": False, "tcp_ping": False, "udp_ping": False,
                                       "ping_ports": PortSet(), "port_scan": "connect"},
                            performance=dict(NMAP_DEFAULTS))
    if len(cmd.tcp_scans) > 1:
        raise ValueError("nmap refuses more than one TCP scan type (" + ", ".join(sorted(cmd.tcp_scans)) + ")")
    if cmd.no_port_scan and (cmd.tcp_scans or cmd.udp):
        raise ValueError("nmap refuses -sn or -sL together with a port scan type")
    if cmd.no_port_scan and (cmd.port_spec is not None or cmd.fast):
        raise ValueError("nmap refuses -p or -F without a port scan (-sn, -sL)")
    if privileged is None:
        privileged = not cmd.unprivileged
    raw_tcp_scan = bool(cmd.tcp_scans) and cmd.tcp_scans != {"connect"}
    tcp = not cmd.no_port_scan and (bool(cmd.tcp_scans) or not cmd.udp)
    if tcp and not cmd.tcp_scans:
        raw_tcp_scan = privileged  # nmap's default scan: SYN as root, connect otherwise
    protocols = tuple(p for p, on in (("tcp", tcp), ("udp", cmd.udp and not cmd.no_port_scan)) if on)
    ports = recorded if recorded is not None else (_scanned_ports(cmd, protocols) if protocols else PortSet())

    icmp = tcp_ping = udp_ping = False
    raw_ping = False
    ping_ports = PortSet()
    if not cmd.list_scan and not cmd.no_ping:
        pings = cmd.pings or {"icmp", "default-tcp"}
        icmp = "icmp" in pings
        if "default-tcp" in pings:
            ping_ports = ping_ports | DEFAULT_PING_PORTS
        ping_ports = ping_ports | cmd.ping_ports
        tcp_ping = bool(ping_ports.tcp)
        udp_ping = "udp" in pings
        raw_ping = tcp_ping and privileged  # -PS, -PA and the default TCP pings are raw as root
    arp = not (cmd.disable_arp or cmd.send_ip or cmd.list_scan)
    if cmd.os or cmd.traceroute:
        # OS detection probes an open and a closed TCP port, a closed UDP port (picked by nmap,
        # a random one when the scan found none) with unusual flags and options, and ICMP;
        # traceroute sends raw probes with short TTLs: read as everything they may reach
        icmp = True
        if cmd.os:
            ports = ports | ALL_PORTS
        raw_tcp_scan = True
    syn = raw_tcp_scan or raw_ping
    if syn and not ports.tcp and raw_ping:
        ports = ports | PortSet(ping_ports.tcp)  # a SYN ping is a SYN probe of its port
    perf: dict[str, Any] = dict(NMAP_DEFAULTS)
    if cmd.max_rate is not None:
        perf["packets_per_second"] = max(1, math.ceil(cmd.max_rate))
    delay = cmd.scan_delay_ms or 0
    if cmd.max_scan_delay_ms is not None:
        delay = min(delay, cmd.max_scan_delay_ms)
    perf["probe_delay_ms"] = delay
    if cmd.max_parallelism is not None:
        perf["parallel_checks_per_host"] = max(cmd.max_parallelism, cmd.min_parallelism or 0)
    elif cmd.min_parallelism is not None:
        perf["parallel_checks_per_host"] = max(NMAP_DEFAULTS["parallel_checks_per_host"], cmd.min_parallelism)
    if cmd.max_hostgroup is not None:
        perf["parallel_hosts"] = max(cmd.max_hostgroup, cmd.min_hostgroup or 0)
    elif cmd.min_hostgroup is not None:
        perf["parallel_hosts"] = max(NMAP_DEFAULTS["parallel_hosts"], cmd.min_hostgroup)
    if cmd.max_rtt_ms is not None:
        perf["timeout_s"] = max(1, -(-cmd.max_rtt_ms // 1000))
    return ScanTemplate(
        name=name,
        ports=ports,
        discovery={"icmp": icmp, "arp": arp, "tcp_ping": tcp_ping, "udp_ping": udp_ping, "ping_ports": ping_ports,
                   "port_scan": "syn" if syn else "connect"},
        checks=_checks(cmd),
        performance=perf,
    )


def command_args(argv: list[str] | str) -> list[str]:
    """The arguments of an nmap command line (a string is split the way a shell would)."""
    if isinstance(argv, str):
        try:
            argv = shlex.split(argv)
        except ValueError as e:
            raise ValueError(f"cannot split the command line: {e}") from None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("an nmap command is a list of strings")
    return list(argv[1:] if argv and argv[0].rsplit("/", 1)[-1] == "nmap" else argv)


def _script_commands(text: str) -> list[list[str]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line in ("set -e", "set -eu"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise ValueError(f"cannot split {line[:80]!r}: {e}") from None
        if words and words[0] == "exec":
            words = words[1:]
        if words and words[-1] == "$@":
            words = words[:-1]
        if not words or (words[0].rsplit("/", 1)[-1] != "nmap" and not words[0].startswith("-")):
            raise ValueError(f"{line[:80]!r} is not an nmap command; scanguard judges nmap command lines only")
        out.append(command_args(words))
    if not out:
        raise ValueError("no nmap command found")
    return out


def commands_of(payload: Any) -> list[list[str]]:
    """The argument lists (without "nmap") of a native document (its "argv" and "argv6" runs), an
    argument vector, a command line, or a shell script of command lines (what `serialize`
    writes). ValueError for anything else."""
    if isinstance(payload, dict):
        if "argv" not in payload:
            raise ValueError('an nmap document has an "argv" (the argument vector)')
        return [command_args(payload["argv"])] + ([command_args(payload["argv6"])] if "argv6" in payload else [])
    if isinstance(payload, str):
        return _script_commands(payload)
    if isinstance(payload, list):
        return [command_args(payload)]
    raise ValueError(f"cannot read a {type(payload).__name__} as an nmap command")


def parse_argv(argv: list[str] | str, name: str = "nmap", *, recorded_ports: PortSet | None = None,
               recorded_tcp_scan: str | None = None) -> ScanTemplate:
    """The neutral template an nmap command line amounts to (see the module docstring).

    `recorded_ports`: the ports nmap itself recorded it scanned (an export's ``<scaninfo>``),
    used instead of working them out from nmap-services; `recorded_tcp_scan`: the TCP scan type
    it recorded ("syn", "connect", ...), which tells a root run from an unprivileged one when the
    command names no scan type. ValueError for what cannot be judged."""
    cmd = read_command(command_args(argv))
    privileged = None
    if recorded_tcp_scan == "connect" and not cmd.tcp_scans:
        privileged = False  # nmap's default scan is SYN as root: a connect scan means it was not root
    return _template(cmd, name, recorded_ports, privileged)
