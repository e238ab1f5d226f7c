"""A nessusd.rules snippet: a hard block, on the scanner itself, of the devices' fragile ports.

Nessus applies nessusd.rules to every scan it runs, whatever the policy says (Tenable's syntax:
`reject address/netmask:port[-port_max]`). It is the backstop for Nessus Professional, whose
policies scanguard cannot push, and for a policy someone loosened by hand.
"""

from __future__ import annotations

import ipaddress

from scanguard import CompiledTemplate, PortSet


def _port_items(ports: PortSet) -> list[str]:
    # nessusd.rules has no protocol: a port excluded for tcp or udp is rejected for both
    merged = ports.tcp | ports.udp
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged.intervals]


def _cidrs(item: str) -> list[str]:
    """Address ranges become CIDR blocks: in a rule, "-" would read as a port range."""
    if "-" not in item:
        return [item]
    lo, _, hi = item.partition("-")
    nets = ipaddress.summarize_address_range(ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip()))
    return [str(n) if n.num_addresses > 1 else str(n.network_address) for n in nets]


def render_rules(ct: CompiledTemplate) -> str:
    """`reject HOST:PORT` lines for every address this template aims at and every port its
    constraints exclude (for a group template: its devices and their fragile ports; for a general
    template: its targets and the ports excluded everywhere). Empty when there are no targets or
    no excluded port."""
    excluded = ct.constraints.excluded_ports
    hosts = [c for item in ct.targets.include.items() for c in _cidrs(item)]
    profiles = sorted({p.profile for p in ct.constraints.provenance if p.kind == "excluded_ports"})
    lines = [
        f"# scanguard: ports excluded by {', '.join(profiles) or 'the profiles'} on the targets of template {ct.name}",
        "# append to nessusd.rules on the scanner and restart nessusd; rules apply to every scan",
    ]
    if not excluded or not hosts:
        return ""
    for host in hosts:
        for item in _port_items(excluded):
            lines.append(f"reject {host}:{item}")
    return "\n".join(lines) + "\n"
