"""The policy document: what scanguard renders for a Tenable product and what it reads back, in one
canonical form that every Tenable plugin compares, hashes and parses.

A Tenable policy is flat settings (strings), plugin families (enabled, disabled or mixed) and
individual plugins. Which families exist, and which family a plugin belongs to, is the scanner's
knowledge, not ours: the document says what must be off by name (`disabled_families`), that every
vulnerability family is off (`all_check_families_off`, whatever families the feed holds), and which
plugin ids are off (`disabled_plugins`, their families resolved by the scanner). `select_families`
turns it into an explicit state for every family a scanner lists; `live_document` reads a scanner's
state back into the same form.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, field_validator

from scanguard import CannotEnforce

from .vocabulary import DEFAULTS, DISCOVERY_FAMILIES, MANAGED_SETTINGS, PORT_SCANNER_FAMILY, PORT_SCANNERS

FORMAT = "tenable-policy/1"
HINT_PREFIX = "scanguard:plugins-off"
"""A description line naming the plugin ids scanguard switched off, so that a read-back can find
them again when their whole family is off (then no family listing names them)."""
FamilyStatus = Literal["enabled", "disabled", "mixed"]


def _plugin_key(pid: str) -> tuple[int, str]:
    return (int(pid), pid) if pid.isdigit() else (1 << 62, pid)


def sorted_plugins(ids: Iterable[str]) -> tuple[str, ...]:
    """Plugin ids, unique, in numeric order."""
    return tuple(sorted({str(i) for i in ids}, key=_plugin_key))


class PolicyDocument(BaseModel):
    """A Tenable policy, canonical (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["tenable-policy/1"] = FORMAT
    template: str = "advanced"
    """The editor template the policy is made from, by name (the scanner gives its uuid)."""
    settings: dict[str, str]
    disabled_families: tuple[str, ...] = ()
    all_check_families_off: bool = False
    """Every family the scanner lists, except the discovery families, is off."""
    disabled_plugins: tuple[str, ...] = ()

    @field_validator("disabled_families")
    @classmethod
    def _families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(v)))

    @field_validator("disabled_plugins")
    @classmethod
    def _plugins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return sorted_plugins(v)

    def payload(self) -> dict[str, Any]:
        """The JSON form (what a vendor's render returns and its client's read gives back)."""
        return self.model_dump(mode="json")

    @classmethod
    def is_payload(cls, data: Any) -> bool:
        """Whether `data` is the JSON form of a document."""
        return isinstance(data, Mapping) and data.get("format") == FORMAT


class FamilySelection(BaseModel):
    """The state one family must be put in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: FamilyStatus
    disabled_plugins: tuple[str, ...] = ()


def select_families(doc: PolicyDocument, catalog: Iterable[str],
                    plugin_family: Callable[[str], str | None]) -> dict[str, FamilySelection]:
    """An explicit state for every family of `catalog` (the scanner's own list), so that nothing is
    left to a default: families named off are off, with `all_check_families_off` every family but
    the discovery ones is off (a family added to the feed later included), and each plugin id off is
    filed under the family the scanner says it belongs to.

    Raises CannotEnforce for a family the scanner does not list, or a plugin it does not know: an
    exclusion that cannot be written is refused, never dropped."""
    families = [f for f in dict.fromkeys(catalog) if f != PORT_SCANNER_FAMILY]
    known = set(families)
    unknown = sorted(set(doc.disabled_families) - known - {PORT_SCANNER_FAMILY})
    if unknown:
        raise CannotEnforce(f"the scanner lists no plugin family {', '.join(repr(f) for f in unknown)}; the exclusion "
                            "cannot be written (check the family name against the scanner's plugin families)")
    off = set(doc.disabled_families) & known
    if doc.all_check_families_off:
        off |= {f for f in families if f not in DISCOVERY_FAMILIES}
    partial: dict[str, set[str]] = {}
    for pid in doc.disabled_plugins:
        family = plugin_family(pid)
        if family is None:
            raise CannotEnforce(f"the scanner knows no plugin {pid}; its exclusion cannot be written")
        if family == PORT_SCANNER_FAMILY:
            raise CannotEnforce(f"plugin {pid} is a port scanner the settings cannot switch off; exclude the whole "
                                f"{PORT_SCANNER_FAMILY!r} family or leave this template off the scanner")
        if family not in known:
            raise CannotEnforce(f"plugin {pid} belongs to family {family!r}, which the scanner's policy editor does not "
                                "list; its exclusion cannot be written")
        if family not in off:
            partial.setdefault(family, set()).add(pid)
    out = {}
    for f in families:
        if f in off:
            out[f] = FamilySelection(status="disabled")
        elif f in partial:
            out[f] = FamilySelection(status="mixed", disabled_plugins=sorted_plugins(partial[f]))
        else:
            out[f] = FamilySelection(status="enabled")
    return out


def description_lines(description: str) -> list[str]:
    """The lines of a description that are not scanguard's (marker and hints dropped)."""
    return [line for line in str(description or "").splitlines() if not line.startswith("scanguard:")]


def hinted_plugins(description: Any) -> tuple[str, ...]:
    """The plugin ids a description's hint line names."""
    for line in str(description or "").splitlines():
        if line.startswith(HINT_PREFIX):
            return sorted_plugins(p for p in line[len(HINT_PREFIX):].replace(",", " ").split() if p.isdigit())
    return ()


def describe(description: str, marker: str, plugins: Iterable[str] = ()) -> str:
    """A description as written to a scanner: the text, the hint line naming the plugin ids that
    are off (when any), and scanguard's marker on the last line."""
    lines = description_lines(description)
    ids = sorted_plugins(plugins)
    if ids:
        lines.append(f"{HINT_PREFIX} {','.join(ids)}")
    if marker:
        lines.append(marker)
    return "\n".join(lines)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def running_port_scanners(family_status: str | None, items: Mapping[str, str]) -> frozenset[str]:
    """The port-scanner plugin ids a policy export says run: the whole family when it is enabled,
    or when the export does not list it (an unlisted family counts as enabled); in a mixed family
    the plugins listed as enabled (the recorded exports list exactly those)."""
    status = (family_status or "enabled").strip().lower()
    if status == "disabled":
        listed_on = {pid for pid, state in items.items() if state.lower() == "enabled"}
        return frozenset(listed_on & set(PORT_SCANNERS))
    if status == "mixed":
        return frozenset(pid for pid, state in items.items() if pid in PORT_SCANNERS and state.lower() == "enabled")
    return frozenset(PORT_SCANNERS)


def live_document(*, template: str, settings: Mapping[str, Any], families: Mapping[str, str] | None,
                  mixed_disabled: Mapping[str, Iterable[str]] | None = None, hinted: Iterable[str] = (),
                  plugin_family: Callable[[str], str | None] = lambda pid: None,
                  port_scanners: Iterable[str] | None = None) -> PolicyDocument:
    """A scanner's policy as a document, read so that it can only look less safe than it is:

    - `settings`: as the scanner returns them (a missing key takes the product's default);
    - `families`: name -> status for every family the scanner lists; None when family state
      could not be read, and then every family counts as enabled;
    - `mixed_disabled`: family -> plugin ids the scanner lists as disabled in a mixed family;
    - `hinted`: plugin ids scanguard switched off (from the description); each counts as off
      only where the scanner says its family is off or lists it disabled;
    - `port_scanners`: the port-scanner plugin ids the policy export says run (None: the export
      could not be read, and then every port scanner counts as running). A scanner that runs is
      written "yes" whatever its settings key says."""
    out: dict[str, str] = {}
    for key in MANAGED_SETTINGS:
        out[key] = _text(settings.get(key, DEFAULTS.get(key, "")))
    out["description"] = "\n".join(description_lines(out["description"]))
    running = frozenset(PORT_SCANNERS) if port_scanners is None else frozenset(port_scanners)
    for pid in running & set(PORT_SCANNERS):
        out[PORT_SCANNERS[pid]] = "yes"
    if families is None:
        return PolicyDocument(template=template, settings=out)
    states = {str(f): str(s or "enabled").strip().lower() for f, s in families.items() if f != PORT_SCANNER_FAMILY}
    off = {f for f, s in states.items() if s == "disabled"}
    checks = [f for f in states if f not in DISCOVERY_FAMILIES]
    all_off = bool(checks) and all(f in off for f in checks)
    plugins = {str(p) for f, ids in (mixed_disabled or {}).items() if states.get(f) == "mixed" for p in ids}
    for pid in hinted:
        if states.get(plugin_family(pid) or "") == "disabled":
            plugins.add(pid)
    return PolicyDocument(
        template=template, settings=out,
        disabled_families=tuple(sorted(off & DISCOVERY_FAMILIES if all_off else off)),
        all_check_families_off=all_off, disabled_plugins=tuple(plugins),
    )
