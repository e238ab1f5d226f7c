"""nessusd.rules: the scanner-side exclusions, a hard block on the Nessus scanner itself.

Nessus applies nessusd.rules to every scan it runs, whatever the policy says, and has no API
for it: the rules are a file an admin installs (`scanguard render --out` writes
`nessus/exclusions/nessusd.rules`). Tenable's syntax is `accept|reject address/netmask[:port[-port_max]]`,
and the first rule that matches decides, so scanguard's rules go at the top of the file.

- a never-scan device: `reject ADDRESS` for exactly its addresses (every port);
- a device's forbidden ports: `reject ADDRESS:PORT` for exactly its addresses, never for the
  network around them. A rule has no protocol: a port forbidden for TCP is rejected for UDP too.

Nessus cannot keep an exclusion in force only outside scan windows (scanguard check does), and
an IPv6 address followed by `:port` cannot be told from the address: port exclusions of IPv6
devices are not given to Nessus (their templates and check still enforce them).
"""

from __future__ import annotations

from typing import Any

from scanguard import AddressSet, ExclusionSupport, PortSet, ScannerExclusion

DOCUMENT = "nessusd.rules"


def _port_items(ports: PortSet) -> list[str]:
    merged = ports.tcp | ports.udp
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged.intervals]


def keeps(e: ScannerExclusion) -> bool:
    """Nessus keeps an exclusion of every port, and a port exclusion of IPv4 addresses."""
    return not e.schedule and (e.ports is None or not e.addresses.v6)


def render_rules(exclusions: tuple[ScannerExclusion, ...]) -> dict[str, str]:
    """{"nessusd.rules": text}: `reject` lines for exactly the addresses (and ports) of every
    exclusion Nessus keeps; {} when there is none."""
    kept = [e for e in exclusions if keeps(e)]
    if not kept:
        return {}
    lines = [
        "# scanguard: scanner-side exclusions (never-scan devices, forbidden ports on exactly their devices)",
        "# put these lines at the TOP of nessusd.rules (the first rule that matches decides) and restart nessusd",
    ]
    for e in kept:
        why = " ".join("; ".join(r.text() for r in e.reasons).split())[:300]  # one comment line, whatever the YAML held
        lines.append(f"# {e.name}: {why}".rstrip())
        for block in e.addresses.blocks():
            if e.ports is None:
                lines.append(f"reject {block}")
            else:
                lines.extend(f"reject {block}:{item}" for item in _port_items(e.ports))
    return {DOCUMENT: "\n".join(lines) + "\n"}


def _rule(target: str, lineno: int) -> tuple[AddressSet, PortSet | None]:
    address, ports = target, None
    if target.count(":") == 1:  # IPv4 with a port; an IPv6 address has several colons
        address, _, port_text = target.partition(":")
        ports = PortSet.parse(f"{port_text}/tcp,{port_text}/udp")
    try:
        return AddressSet.parse([address]), ports
    except ValueError as e:
        raise ValueError(f"line {lineno}: {e}") from None


def parse_rules(text: Any) -> tuple[ScannerExclusion, ...]:
    """What a nessusd.rules text blocks. Only `reject` rules above every `accept` rule count
    (the first match decides, so an accept above a reject may let its addresses through);
    comments, plugin rules and `default` lines block no address. A target that is not an
    address (a host name) raises ValueError: what cannot be judged never counts as excluded."""
    if not isinstance(text, str):
        raise ValueError(f"expected the text of nessusd.rules, got {type(text).__name__}")
    out: list[ScannerExclusion] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        verb, _, rest = line.partition(" ")
        verb = verb.lower()
        if verb == "accept":
            break
        if verb != "reject":
            continue  # plugin rules and the default line block no address
        addresses, ports = _rule(rest.strip(), lineno)
        out.append(ScannerExclusion(name=f"{DOCUMENT}:{lineno}", kind="never" if ports is None else "ports",
                                    addresses=addresses, ports=ports))
    return tuple(out)


SUPPORT = ExclusionSupport(render=render_rules, parse=parse_rules, ports=True, schedule=False, artifact=True,
                           serialize=lambda text: text, suffix="", keeps=keeps)
"""Nessus's scanner-side exclusions: the nessusd.rules artifact."""
