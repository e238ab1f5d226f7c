"""The compiled plan: every safe template of a workspace, with its targets and provenance."""

from __future__ import annotations

from pydantic import Field

from .addresses import AddressSet
from .base import Model
from .constraints import Constraints, Provenance
from .exclusion import ScannerExclusion
from .ports import PortSet
from .template import ScanTemplate


class Targets(Model):
    """Where a compiled template aims: include (empty: chosen on the scanner) minus exclude."""

    include: AddressSet = Field(default_factory=AddressSet)
    exclude: AddressSet = Field(default_factory=AddressSet)


class CompiledTemplate(Model):
    """A base template narrowed for a set of devices (a group) or for the general network."""

    name: str
    base: str
    group: str | None = None
    template: ScanTemplate
    constraints: Constraints = Field(default_factory=Constraints)
    targets: Targets = Field(default_factory=Targets)
    devices: tuple[str, ...] = ()
    scanners: tuple[str, ...] = ()
    removed_ports: PortSet = Field(default_factory=PortSet)
    rewrites: tuple[str, ...] = ()
    reach_anywhere: bool = False
    """True when a scanner that receives this template has no targets of its own: it may aim the
    template anywhere (but `targets.exclude`), so its constraints cover every profiled device."""
    excluded_devices: tuple[str, ...] = ()
    """Profiles (never-scan, or restricted to another template) whose addresses inside the
    template's reach were taken out of its targets instead of narrowing it."""
    exclusions: tuple[ScannerExclusion, ...] = ()
    """The scanner-side exclusions of the devices this template may reach or was aimed away
    from (a subset of `Plan.exclusions`), for vendors that hand them out with each template."""

    def reach(self) -> AddressSet:
        """Every address this template may probe: its targets (anywhere, for a scanner without
        targets or a template without them) less the excluded addresses."""
        where = AddressSet.everything() if self.reach_anywhere or not self.targets.include else self.targets.include
        return where - self.targets.exclude

    @property
    def provenance(self) -> tuple[Provenance, ...]:
        """Every constraint that narrowed this template, sorted by profile and item."""
        return tuple(sorted(self.constraints.provenance, key=lambda p: (p.profile, p.kind, p.item)))


class Plan(Model):
    """Every compiled template of a workspace."""

    templates: tuple[CompiledTemplate, ...] = ()
    exclusions: tuple[ScannerExclusion, ...] = ()
    """What every scanner itself must refuse to probe (see scanguard.model.exclusion)."""

    def get(self, name: str) -> CompiledTemplate | None:
        """The compiled template of that name, if any."""
        return next((t for t in self.templates if t.name == name), None)

    def for_scanner(self, scanner: str) -> tuple[CompiledTemplate, ...]:
        """The compiled templates assigned to a scanner."""
        return tuple(t for t in self.templates if scanner in t.scanners)

    def exclusions_for(self, scanner: str) -> tuple[ScannerExclusion, ...]:
        """The exclusions a scanner must hold: all of them, since any scanner can be aimed
        anywhere by hand."""
        return self.exclusions
