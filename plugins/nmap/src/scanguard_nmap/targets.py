"""Where an nmap argument vector aims: its target addresses less its --exclude list.

Read the way nmap reads them: operands that are not option values are targets; `--exclude`
takes a comma-separated list. What cannot be judged fails closed: targets from a file (-iL),
random targets (-iR) or a host name make the vector reach anywhere, and an --excludefile or a
name among the excluded hosts excludes nothing.
"""

from __future__ import annotations

import shlex
from typing import Any

from scanguard import AddressSet, Targets

TAKES_VALUE = frozenset({
    "-p", "--exclude-ports", "--max-rate", "--min-rate", "--scan-delay", "--max-scan-delay", "--max-parallelism",
    "--min-parallelism", "--max-hostgroup", "--min-hostgroup", "--max-rtt-timeout", "--min-rtt-timeout",
    "--initial-rtt-timeout", "--host-timeout", "--max-retries", "--script", "--script-args", "--exclude",
    "--excludefile", "-oX", "-oN", "-oG", "-oA", "-oS", "--stats-every", "-iL", "-iR", "-e", "-S", "-g",
    "--source-port", "--top-ports", "--port-ratio", "--version-intensity", "--data-length", "--ttl", "-D",
    "--dns-servers", "--datadir", "--resume", "--script-timeout",
})


def parse_targets(payload: Any) -> Targets:
    """The targets of a native document, a bare argument vector or a command line."""
    argv = payload["argv"] if isinstance(payload, dict) else payload
    if isinstance(argv, str):
        argv = shlex.split(argv)
    args = list(argv[1:] if argv and str(argv[0]).endswith("nmap") else argv)
    targets: list[str] = []
    excluded: list[str] = []
    anywhere = False
    i = 0
    while i < len(args):
        a = str(args[i])
        if a in ("-iL", "-iR"):
            anywhere = True
        if a == "--exclude" and i + 1 < len(args):
            excluded.extend(str(args[i + 1]).split(","))
        if a in TAKES_VALUE:
            i += 2
            continue
        if not a.startswith("-"):
            targets.append(a)
        i += 1
    include, unknown = AddressSet.parse_known(targets)
    exclude, _names = AddressSet.parse_known(excluded)  # a name excludes no address we can see
    # a host name, or a target form we cannot read, may be anywhere
    return Targets(include=AddressSet.everything() if anywhere or unknown else include, exclude=exclude)
