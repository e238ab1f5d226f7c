"""nmap's own port list (``nmap-services``), read the way nmap reads it.

Without ``-p`` nmap scans its 1,000 most frequent ports of each protocol, not 1-1000; ``-F`` is
the top 100, ``--top-ports N`` the top N, ``--port-ratio R`` every port at least that frequent,
and port names (``-p http``) and brackets (``-p [1-1024]``) are looked up in the same file. The
ranking is by frequency, ties broken by port number (what nmap 7.93 does; the tests compare it
with the installed nmap's own ``<scaninfo>``).

The file is found where nmap looks for it (``--datadir``, ``$NMAPDIR``, ``~/.nmap``, beside the
nmap binary and in ``../share/nmap`` from it, then the usual install prefixes). When it cannot be
found, the ports of a command that relies on it cannot be judged: `ServicesUnavailable`.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from scanguard import IntervalSet

PROTOCOLS = ("tcp", "udp")
INSTALL_DIRS = ("/usr/share/nmap", "/usr/local/share/nmap", "/opt/homebrew/share/nmap")
"""The compiled-in data directories of the common nmap builds (distribution packages, source
builds, Homebrew)."""


class ServicesUnavailable(ValueError):
    """nmap's port list is needed to judge a command, and it cannot be read here."""


@dataclass(frozen=True)
class Services:
    """One nmap-services file: per protocol, (port, name, frequency) in file order."""

    path: Path
    entries: dict[str, tuple[tuple[int, str, float], ...]] = field(default_factory=dict)

    def ranked(self, proto: str) -> list[tuple[int, str, float]]:
        """The protocol's entries, most frequent first, ties by port (nmap's order)."""
        return sorted(self.entries.get(proto, ()), key=lambda e: (-e[2], e[0]))

    def ports(self, proto: str) -> IntervalSet:
        """Every port the file lists for the protocol."""
        return IntervalSet((p, p) for p, _, _ in self.entries.get(proto, ()))

    def named(self, pattern: str, proto: str) -> IntervalSet:
        """Ports whose service name matches a name or a wildcard pattern (``*``, ``?``); case
        sensitive, as in nmap."""
        return IntervalSet((p, p) for p, name, _ in self.entries.get(proto, ()) if fnmatch.fnmatchcase(name, pattern))

    def top(self, proto: str, count: int | None = None, ratio: float | None = None,
            among: IntervalSet | None = None) -> IntervalSet:
        """The `count` most frequent ports (or those with frequency >= `ratio`) among `among`."""
        chosen = []
        for port, _, freq in self.ranked(proto):
            if among is not None and port not in among:
                continue
            if ratio is not None and freq < ratio:
                break
            chosen.append((port, port))
            if count is not None and len(chosen) >= count:
                break
        return IntervalSet(chosen)


def _read(path: Path) -> Services:
    by: dict[str, list[tuple[int, str, float]]] = {p: [] for p in PROTOCOLS}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split()
            if len(parts) < 3 or "/" not in parts[1]:
                continue
            port_s, _, proto = parts[1].partition("/")
            try:
                port, freq = int(port_s), float(parts[2])
            except ValueError:
                continue
            if proto in by and 1 <= port <= 65535:  # port 0 cannot be named in a profile: left out
                by[proto].append((port, parts[0], freq))
    if not any(by.values()):
        raise ServicesUnavailable(f"{path} lists no tcp or udp port: not an nmap-services file")
    return Services(path=path, entries={k: tuple(v) for k, v in by.items()})


def data_dirs(datadir: str | None = None, nmap: str = "nmap") -> list[Path]:
    """The directories nmap looks in for its data files (nmap-services, nmap-service-probes,
    scripts/script.db), in its order: ``--datadir``, ``$NMAPDIR``, ``~/.nmap``, beside the binary
    and its ``../share/nmap``, the usual install prefixes."""
    dirs: list[Path] = []
    if datadir:
        dirs.append(Path(datadir))
    if os.environ.get("NMAPDIR"):
        dirs.append(Path(os.environ["NMAPDIR"]))
    dirs.append(Path.home() / ".nmap")
    binary = shutil.which(nmap)
    if binary:
        real = Path(binary).resolve().parent
        dirs += [real, real.parent / "share" / "nmap"]
    dirs += [Path(d) for d in INSTALL_DIRS]
    return dirs


def find_data_file(filename: str, datadir: str | None = None, nmap: str = "nmap") -> Path | None:
    """The data file nmap would read (a path relative to its data directory, such as
    ``scripts/script.db``), or None when there is none."""
    return next((d / filename for d in data_dirs(datadir, nmap) if (d / filename).is_file()), None)


def candidates(datadir: str | None = None) -> list[Path]:
    """Where nmap looks for nmap-services, in its order."""
    return [d / "nmap-services" for d in data_dirs(datadir)]


@lru_cache(maxsize=8)
def _load(paths: tuple[Path, ...]) -> Services:
    for p in paths:
        if p.is_file():
            try:
                return _read(p)
            except OSError:
                continue
    raise ServicesUnavailable(
        "nmap's port list (nmap-services) was not found (looked in "
        + ", ".join(str(p.parent) for p in paths)
        + "): the ports nmap picks itself (no -p, -F, --top-ports, --port-ratio, port names) cannot be "
        "judged; install nmap here, set NMAPDIR, or name the ports with -p"
    )


def load_from(paths: tuple[Path, ...]) -> Services:
    """The first nmap-services file of `paths` that can be read (see `candidates`);
    ServicesUnavailable when there is none."""
    return _load(paths)


def load_services(datadir: str | None = None) -> Services:
    """The nmap-services nmap would read (see the module docstring); ServicesUnavailable when
    there is none."""
    return _load(tuple(candidates(datadir)))
