"""Tenable Security Center's form of the policy model: preferences and families as `/rest/policy`
takes and shows them (recorded: ../shared/fixtures/tenablesc/sc_policy_details.json and
sc_policy_create_request.json).

Security Center keeps the same settings keys as Nessus, as `preferences` (every value a string),
with the name and description beside them; its ids and booleans are strings too. Families differ:

- `families` is a list of `{"id", ...}` by Security Center's family id; a family not listed is
  disabled (the recorded policy lists none, and its export shows every family disabled);
- a listed family without plugins is enabled ("to specify a mixed plugin family, the plugins
  field must be present; otherwise, the family type defaults to enabled", Tenable's API
  reference); a family with some plugins off is listed with the plugins that stay on;
- Security Center 6.x wants a `state` for every family listed: scanguard always sends one.

Read conservatively: a family whose entry cannot be read is enabled, a listed family is mixed only
when it lists its plugins (else enabled whatever its state says), and a plugin counts as off only
when its family's own plugin list is known and the policy does not list it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from scanguard import CannotEnforce

from .document import FamilySelection, sorted_plugins
from .parse import template_name

TEMPLATES: dict[str, str] = {"advanced": "Advanced Scan", "basic": "Basic Network Scan"}
"""A document's editor template -> the Security Center policy template of the same kind."""


def template_of(sc_name: Any) -> str:
    """The document template a Security Center policy template name stands for ("Advanced Scan" ->
    "advanced"; an unknown one by its own name)."""
    for ours, theirs in TEMPLATES.items():
        if str(sc_name or "").strip().lower() == theirs.lower():
            return ours
    return template_name(sc_name, fallback="")


def families_field(selection: Mapping[str, FamilySelection], family_id: Mapping[str, str],
                   family_plugins: Callable[[str], Iterable[str] | None]) -> list[dict[str, Any]]:
    """The `families` of a policy body for a selection (select_families over the scanner's own
    catalog): every family not disabled, by id (a string), with its state; a mixed family lists
    the plugins that stay on, from the family's own list (`family_plugins`; None: unknown, and then
    the selection cannot be written: CannotEnforce). A mixed family with no plugin left on is not
    listed (disabled)."""
    out: list[dict[str, Any]] = []
    for name, sel in selection.items():
        if sel.status == "disabled":
            continue
        entry: dict[str, Any] = {"id": str(family_id[name]), "state": sel.status}
        if sel.status == "mixed":
            every = family_plugins(name)
            if every is None:
                raise CannotEnforce(f"the scanner does not list the plugins of family {name!r}: the plugins to keep on "
                                    f"cannot be named, so {', '.join(sel.disabled_plugins)} cannot be switched off alone")
            off = set(sel.disabled_plugins)
            on = sorted_plugins(p for p in (str(x) for x in every) if p not in off)
            if not on:
                continue
            entry["plugins"] = [{"id": p} for p in on]
        out.append(entry)
    return out


def family_states(families: Any, catalog: Mapping[str, str],
                  family_plugins: Callable[[str], Iterable[str] | None]) -> tuple[dict[str, str] | None, dict[str, list[str]]]:
    """(family name -> status, family name -> plugin ids off in it) from a policy's `families`
    (see the module docstring); (None, {}) when the policy shows no families at all (unknown: every
    family counts as enabled). `catalog` is the scanner's families, id -> name."""
    if not isinstance(families, list):
        return None, {}
    states = {name: "disabled" for name in catalog.values()}
    mixed: dict[str, list[str]] = {}
    for entry in families:
        if not isinstance(entry, Mapping):
            continue
        fid = str(entry.get("id", "")).strip()
        name = catalog.get(fid) or str(entry.get("name") or "").strip() or f"family {fid or '?'}"
        plugins = entry.get("plugins")
        listed = {str(p.get("id")) for p in plugins if isinstance(p, Mapping) and p.get("id") is not None} \
            if isinstance(plugins, list) else set()
        state = str(entry.get("state") or "").strip().lower()
        if listed and state != "enabled":
            states[name] = "mixed"
            every = family_plugins(name)
            mixed[name] = [] if every is None else [p for p in sorted_plugins(str(x) for x in every) if p not in listed]
        elif not listed and state == "disabled":
            states[name] = "disabled"
        else:
            states[name] = "enabled"
    return states, mixed
