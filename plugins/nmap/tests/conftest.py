"""Real nmap, run where it cannot reach anything: a fresh, empty network namespace per run.

`nmap -sL -n` (list scan) sends no packet and `-n` resolves no name; nmap with options but no
target parses everything, prints the ports it would scan (``<scaninfo>``) and stops. The empty
namespace (``unshare -n``, which needs root) makes sure of it: a name lookup or a probe has
nowhere to go.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from scanguard import AddressSet, IntervalSet, PortSet

NMAP = shutil.which("nmap")
UNSHARE = shutil.which("unshare")


def _why_no_netns() -> str | None:
    if NMAP is None:
        return "nmap is not installed (needs /usr/bin/nmap)"
    if UNSHARE is None:
        return "unshare (util-linux) is not installed"
    if os.geteuid() != 0:
        return "an empty network namespace (unshare -n) needs root"
    probe = subprocess.run([UNSHARE, "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n does not work here: {probe.stderr.strip()}"
    return None


@dataclass
class NmapRun:
    returncode: int
    stdout: str
    stderr: str

    def refused(self) -> str | None:
        """nmap's complaint, when it refused the command line."""
        text = self.stdout + self.stderr
        if self.returncode != 0 or "QUITTING" in text or "unrecognized option" in text:
            return text.strip()[-600:] or f"exit {self.returncode}"
        return None


class IsolatedNmap:
    """Runs the installed nmap in a new, empty network namespace."""

    def run(self, args: list[str], timeout: float = 120) -> NmapRun:
        r = subprocess.run([UNSHARE, "-n", NMAP, *args], capture_output=True, text=True, timeout=timeout)
        return NmapRun(r.returncode, r.stdout, r.stderr)

    def listed(self, args: list[str]) -> AddressSet:
        """The hosts `nmap -sL -n <args>` lists, as an address set (65k lines are fine)."""
        r = self.run(["-sL", "-n", *args])
        assert r.refused() is None, r.refused()
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for m in re.finditer(r"^Nmap scan report for (\S+)$", r.stdout, re.M):
            ip = ipaddress.ip_address(m.group(1))
            (v4 if ip.version == 4 else v6).append((int(ip), int(ip)))
        return AddressSet(IntervalSet(v4), IntervalSet(v6))

    def scanned_ports(self, options: list[str]) -> PortSet:
        """The ports nmap says it would scan with these options (no target: nothing is sent)."""
        r = self.run([*options, "-oX", "-"])
        assert r.refused() is None, r.refused()
        by: dict[str, IntervalSet] = {}
        for m in re.finditer(r'<scaninfo type="[^"]*" protocol="(\w+)" numservices="\d+" services="([^"]*)"', r.stdout):
            items = [tuple(int(x) for x in part.split("-")) for part in m.group(2).split(",") if part]
            by[m.group(1)] = IntervalSet((i[0], i[-1]) for i in items) - IntervalSet([(0, 0)])
        return PortSet(by.get("tcp"), by.get("udp"))

    def script_categories(self, expression: str) -> dict[str, set[str]]:
        """What `--script-help` says the expression selects: script name -> its categories."""
        r = self.run(["--script-help", expression])
        assert r.refused() is None, r.refused()
        return {m.group(1): set(m.group(2).split()) for m in re.finditer(r"^(\S+)\nCategories: (.*)$", r.stdout, re.M)}


@pytest.fixture(scope="session")
def real_nmap() -> IsolatedNmap:
    """The installed nmap in an empty network namespace; skipped, saying why, where it cannot run."""
    why = _why_no_netns()
    if why:
        pytest.skip(why)
    return IsolatedNmap()
