"""Scanner-side exclusions: what a scanner itself must refuse to probe, whatever template a scan
uses. They are the backstop behind the templates (a scan someone builds by hand in the console,
a template someone loosened): Nessus `reject` rules in nessusd.rules, InsightVM sites' excluded
targets, Tenable exclusions with their schedule, and so on, each vendor through its own
`ExclusionSupport` (scanguard.plugin.records).

Compile makes them from the profiles (`Plan.exclusions`); every scanner gets all of them,
because a scanner can be aimed anywhere by hand:

- ``never:<profile>``: a never-scan device's addresses, every port, always;
- ``ports:<profile>``: the ports a device forbids, on exactly its addresses (never a whole
  network around it);
- ``window:<profile>``: a device's addresses, every port, outside its scan windows.
"""

from __future__ import annotations

from typing import Literal

from .addresses import AddressSet
from .base import Model
from .ports import PortSet
from .windows import WindowSet

ExclusionKind = Literal["never", "ports", "window"]


class ExclusionReason(Model):
    """Why an exclusion exists: the profile, its policy, the reason and evidence, its file."""

    profile: str
    policy: Literal["scan", "restricted", "never"]
    reason: str
    evidence: tuple[str, ...] = ()
    source: str | None = None

    def text(self) -> str:
        """"pos-terminal (restricted): hangs on 7100 [INC-1]"."""
        ev = f" [{', '.join(self.evidence)}]" if self.evidence else ""
        return f"{self.profile} ({self.policy}): {self.reason}{ev}"


class ScannerExclusion(Model):
    """Addresses a scanner must not probe: every port of them, or only `ports`; always, or
    only outside `schedule` (the windows in which scanning them is allowed)."""

    name: str
    """Stable across runs ("never:<profile>", "ports:<profile>", "window:<profile>"): the
    vendor's object for it is found again by this name."""
    kind: ExclusionKind
    addresses: AddressSet
    ports: PortSet | None = None
    """None: every port (the addresses are not scanned at all)."""
    schedule: frozenset[WindowSet] = frozenset()
    """When scanning the addresses is allowed (every set must allow the instant, as in
    `ScanTemplate.windows`); the exclusion is in force outside it. Empty: always in force."""
    devices: tuple[str, ...] = ()
    reasons: tuple[ExclusionReason, ...] = ()

    def text(self) -> str:
        """"ports:printers: 9100-9107/tcp on 10.50.1.0/24"."""
        where = ", ".join(self.addresses.items()[:4]) + (", ..." if len(self.addresses.items()) > 4 else "")
        what = "every port" if self.ports is None else f"{self.ports}"
        when = "" if not self.schedule else " outside " + " and ".join(
            " or ".join(w.text() for w in sorted(ws, key=lambda w: w.text())) for ws in sorted(
                self.schedule, key=lambda s: sorted(w.text() for w in s)))
        return f"{self.name}: {what} on {where}{when}"
