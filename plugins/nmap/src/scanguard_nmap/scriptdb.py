"""nmap's script database, and a private copy that keeps version detection to a template's checks.

``-sV`` makes nmap add the rule ``version`` to whatever ``--script`` says, so every script of the
``version`` category in ``scripts/script.db`` may run (21 of the 45 of nmap 7.93 are not
``safe``: ``bacnet-info``, ``enip-info``, ``omron-info``, ``http-server-header`` ...). No
``--script`` expression can stop them. What can: nmap picks scripts by category only among the
entries of the script database it reads, and it reads the first ``scripts/script.db`` it finds,
``--datadir`` first, while every other file (the scripts themselves, ``nmap-service-probes``,
``nmap-services``) is still found in the installed data directory. So a run that controls nmap's
data directory gives it a private ``scripts/script.db``: the installed one, less each version
script the template's checks leave out (:func:`scanguard_nmap.argv.version_script_rule`). The service probes are sent as usual;
no version script runs that the template's checks leave out.

This only works where scanguard starts nmap itself (:mod:`scanguard_nmap.run`): a rendered
command runs on another machine, with that machine's data directory, so rendering keeps the
strict rule (:func:`scanguard_nmap.argv.version_detection_allowed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scanguard import ScanguardError

from .nse import Selection, parse_rules
from .services import find_data_file

SCRIPT_DB = "scripts/script.db"
"""Where nmap's script database is, relative to a data directory."""
_ENTRY = re.compile(r'^Entry \{ filename = "(?P<file>[^"]+)", categories = \{(?P<cats>(?: "[^"]*",)*) \} \}$')


@dataclass(frozen=True)
class Entry:
    """One script of the database: its line as written, its name (no ``.nse``), its categories."""

    line: str
    name: str
    categories: frozenset[str]


def read_script_db(text: str, source: str = SCRIPT_DB) -> list[Entry]:
    """The entries of a script database (ScanguardError naming the line when one cannot be read:
    a script whose categories are unknown cannot be judged)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _ENTRY.match(line.strip())
        if m is None:
            raise ScanguardError(f"{source}:{n}: not a script database entry nmap writes: {line[:80]!r}")
        cats = frozenset(c.lower() for c in re.findall(r'"([^"]*)"', m.group("cats")))
        name = m.group("file").rsplit("/", 1)[-1].removesuffix(".nse")
        out.append(Entry(line=line.strip(), name=name, categories=cats))
    return out


def installed_script_db(nmap: str = "nmap") -> Path:
    """The script database the installed nmap reads (ScanguardError when there is none)."""
    found = find_data_file(SCRIPT_DB, nmap=nmap)
    if found is None:
        raise ScanguardError(f"nmap's script database ({SCRIPT_DB}) was not found: version detection cannot be "
                             "kept to the template's checks (set NMAPDIR to nmap's data directory)")
    return found


def version_scripts_kept(entries: Sequence[Entry], rules: str) -> list[Entry]:
    """The version scripts that `rules` (an NSE ``--script`` argument) select."""
    selection = Selection(parse_rules(rules))
    return [e for e in entries if "version" in e.categories and selection.selects(e.name, e.categories)]


def write_private_db(directory: Path, rules: str, nmap: str = "nmap") -> list[Entry]:
    """Write ``<directory>/scripts/script.db``: the installed database less every version script
    that `rules` (an NSE ``--script`` argument) do not select. Returns the version scripts kept."""
    source = installed_script_db(nmap)
    entries = read_script_db(source.read_text(encoding="utf-8"), str(source))
    kept = version_scripts_kept(entries, rules)
    keep = {e.line for e in kept}
    lines = [e.line for e in entries if "version" not in e.categories or e.line in keep]
    target = directory / SCRIPT_DB
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kept
