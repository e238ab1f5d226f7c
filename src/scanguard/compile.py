"""Compile: base templates x device profiles -> a plan of safe templates.

For each base template T (see DESIGN.md, "Compile"):

- ``T`` (general): T narrowed by every ``everywhere`` constraint and by the ``assets``
  constraints of the scannable devices it may reach; its targets exclude every device that has
  its own template (``restricted``) or must never be scanned (``never``);
- ``T@group``: for each group of ``restricted`` devices, T narrowed by their constraints (and
  the ``everywhere`` ones), aimed at exactly those devices, assigned to the scanners of T whose
  targets reach them (a scanner without targets reaches everything).

Then plugins may rewrite (``scanguard_rewrite_template``), in priority order; every step is
re-verified with the safety lattice and a weakening rewrite is refused.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import SafetyError
from .lattice import merge, merge_all, narrow, safety_regressions, violations
from .model.addresses import AddressSet
from .model.constraints import Constraints
from .model.plan import CompiledTemplate, Plan, Targets
from .model.profile import DeviceProfile
from .model.template import ScanTemplate

if TYPE_CHECKING:
    from .plugin.manager import PluginManager
    from .workspace import Workspace

EVERYWHERE = frozenset({"everywhere"})
ASSETS = frozenset({"assets"})
ALL_SCOPES = frozenset({"assets", "everywhere"})


@contextmanager
def bulk_allocation():
    """Compile builds hundreds of thousands of small immutable records and no reference cycles;
    generational GC passes over them cost as much as the work itself, so pause GC meanwhile.
    (Loading a workspace does the same.) What was built is handed to the oldest generation at
    once (freeze, then unfreeze), rather than have the next young collection walk all of it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was:
            gc.enable()


def _build(base: ScanTemplate, name: str, group: str | None, c: Constraints, targets: Targets,
           devices: tuple[str, ...], scanners: tuple[str, ...]) -> CompiledTemplate:
    narrowed = narrow(base, c).model_copy(update={"name": name})
    bad = violations(narrowed, c)
    if bad:  # narrow() is built to make this impossible; refuse rather than trust it
        raise SafetyError(f"compiled template {name} still breaks its constraints: " + "; ".join(v.text() for v in bad))
    return CompiledTemplate(
        name=name, base=base.name, group=group, template=narrowed, constraints=c, targets=targets,
        devices=devices, scanners=scanners, removed_ports=base.ports - narrowed.ports,
    )


def compile_plan(ws: "Workspace", plugins: "PluginManager | None" = None) -> Plan:
    """Every compiled template of the workspace, verified; rewrites applied when `plugins` is given."""
    with bulk_allocation():
        return _compile(ws, plugins)


def _compile(ws: "Workspace", plugins: "PluginManager | None") -> Plan:
    profiles = ws.profiles
    src = {p.id: ws.source_of(f"profile:{p.id}") for p in profiles}
    # each profile's lattice form and addresses are computed once, for every base template
    full = {p.id: p.lattice(ALL_SCOPES, src[p.id]) for p in profiles}
    scopes_of = {p.id: p.constraint_scopes() for p in profiles}
    empty = Constraints()

    def scoped(p: DeviceProfile, scopes: frozenset[str]) -> Constraints:
        used = scopes_of[p.id]
        if not used & scopes:
            return empty
        if used <= scopes:
            return full[p.id]
        return p.lattice(scopes, src[p.id])

    addrs = {p.id: p.addresses() for p in profiles}
    everywhere = merge_all(scoped(p, EVERYWHERE) for p in profiles)
    restricted: dict[str, list[DeviceProfile]] = {}
    for p in profiles:
        if p.policy == "restricted":
            restricted.setdefault(p.group_name(), []).append(p)
    never_hosts = _union(addrs[p.id] for p in profiles if p.policy == "never")
    restricted_hosts = _union(addrs[p.id] for group in restricted.values() for p in group)
    scannable = [p for p in profiles if p.policy == "scan"]
    scannable_assets = [(p, addrs[p.id], scoped(p, ASSETS)) for p in scannable]
    group_c = {g: merge(everywhere, merge_all(full[p.id] for p in members)) for g, members in restricted.items()}
    group_hosts = {g: _union(addrs[p.id] for p in members) for g, members in restricted.items()}
    general_cache: dict = {}
    targets_of = {n: sc.target_set() for n, sc in ws.config.scanners.items()}

    wanted = ws.config.workspace.templates or [t.name for t in ws.templates]
    out: list[CompiledTemplate] = []
    for tname in wanted:
        base = ws.template(tname)
        if base is None:
            continue
        scanners = tuple(n for n, s in ws.config.scanners.items() if s.templates is None or tname in s.templates)
        include = _union(targets_of[n] for n in scanners)
        # assets-scope constraints apply wherever the device may be targeted; unknown location: apply
        if include not in general_cache:
            reach = [c for _, a, c in scannable_assets if not include or not a or a.overlaps(include)]
            general_cache[include] = merge(everywhere, merge_all(reach))
        general_c = general_cache[include]
        out.append(_build(base, tname, None, general_c,
                          Targets(include=include, exclude=never_hosts | restricted_hosts),
                          tuple(sorted(p.id for p in scannable)), scanners))
        for gname in sorted(restricted):
            members = restricted[gname]
            # a group template goes to the scanners that can reach the group: those with no
            # targets of their own, or whose targets hold some of its devices
            reaching = tuple(n for n in scanners if not targets_of[n] or targets_of[n].overlaps(group_hosts[gname]))
            out.append(_build(base, f"{tname}@{gname}", gname, group_c[gname],
                              Targets(include=group_hosts[gname], exclude=never_hosts),
                              tuple(sorted(p.id for p in members)), reaching))
    if plugins is not None:
        out = [apply_rewrites(ct, ws, plugins) for ct in out]
    return Plan(templates=tuple(out))


def apply_rewrites(ct: CompiledTemplate, ws: "Workspace", plugins: "PluginManager") -> CompiledTemplate:
    """Apply the plugins' rewrites in priority order, verifying after each one. A rewrite that
    makes the template less safe, or breaks its constraints, raises SafetyError naming it."""
    current = ct.template
    applied: list[str] = []
    for plugin_name, rw in plugins.template_rewrites(ct, ws):
        who = f"rewrite {rw.name!r} from plugin {plugin_name}"
        try:
            new = rw.apply(current)
        except Exception as e:
            raise SafetyError(f"{who} failed on template {ct.name}: {type(e).__name__}: {e}") from e
        if not isinstance(new, ScanTemplate):
            raise SafetyError(f"{who} returned {type(new).__name__}, expected a ScanTemplate")
        new = new.model_copy(update={"name": ct.name})
        worse = safety_regressions(new, current)
        bad = violations(new, ct.constraints)
        if worse or bad:
            reasons = worse + [v.text() for v in bad]
            raise SafetyError(f"{who} rejected: it makes template {ct.name} less safe ({'; '.join(reasons)})")
        current = new
        applied.append(f"{plugin_name}:{rw.name}")
    if not applied:
        return ct
    base_ports = ct.template.ports | ct.removed_ports
    return ct.model_copy(update={"template": current, "rewrites": tuple(applied),
                                 "removed_ports": base_ports - current.ports})


def _union(sets) -> AddressSet:
    from .model.intervals import IntervalSet

    v4: list = []
    v6: list = []
    for s in sets:
        v4.extend(s.v4.intervals)
        v6.extend(s.v6.intervals)
    return AddressSet(IntervalSet(v4), IntervalSet(v6))
