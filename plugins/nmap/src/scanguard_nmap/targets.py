"""Addresses the way nmap reads them: rendering a template's targets, and reading where an nmap
command aims.

nmap reads hosts and CIDR blocks (IPv6 only with ``-6``, in a run of its own) and IPv4 octet
ranges. It does not read ``10.20.60.0-10.20.61.127``: as ``--exclude`` it tries to resolve it as a
host name and quits, as a target it skips it. So every address set is written as hosts and CIDR
blocks (`AddressSet.blocks`), one run per address family.

Reading goes through the command reader (scanguard_nmap.command), so every option takes its
argument as nmap gives it one; operands are targets and ``--exclude`` a comma-separated list.
What cannot be judged fails closed: targets from a file (-iL), random targets (-iR) or a host name
make the command reach anywhere, and an --excludefile or a name among the excluded hosts excludes
nothing.
"""

from __future__ import annotations

from typing import Any

from scanguard import AddressSet, Targets

from .command import commands_of, read_command


def nmap_items(addresses: AddressSet, version: int) -> list[str]:
    """The addresses of one family as nmap target items (hosts and CIDR blocks)."""
    if not (addresses.v6 if version == 4 else addresses.v4):
        return addresses.blocks()  # one family already: its blocks are computed once per set
    return (AddressSet(addresses.v4, None) if version == 4 else AddressSet(None, addresses.v6)).blocks()


def families(addresses: AddressSet) -> list[int]:
    """The address families present, IPv4 first."""
    return [v for v, iv in ((4, addresses.v4), (6, addresses.v6)) if iv]


def _aimed(args: list[str]) -> Targets:
    cmd = read_command(args)
    include, unknown = AddressSet.parse_known(cmd.targets)
    exclude, _names = AddressSet.parse_known(cmd.excluded)  # a name excludes no address we can see
    # a host name, a target form we cannot read, a file or random targets may be anywhere
    reach_anywhere = cmd.targets_unknown or bool(unknown)
    return Targets(include=AddressSet.everything() if reach_anywhere else include, exclude=exclude)


def parse_targets(payload: Any) -> Targets:
    """Where a native document (every run of it), an argument vector, a command line or a script
    of command lines aims. ValueError for a command that cannot be read."""
    runs = [_aimed(args) for args in commands_of(payload)]
    if len(runs) == 1:
        return runs[0]
    if not any(r.include for r in runs):  # every run leaves its targets to the scanner
        exclude = runs[0].exclude
        for r in runs[1:]:
            exclude = exclude & r.exclude
        return Targets(exclude=exclude)
    aimed = AddressSet()
    for r in runs:
        aimed = aimed | ((r.include or AddressSet.everything()) - r.exclude)
    return Targets(include=aimed)
