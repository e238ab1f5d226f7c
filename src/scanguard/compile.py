"""Compile: base templates x device profiles -> a plan of safe templates.

For each base template T (see DESIGN.md, "Compile"):

- ``T`` (general): T narrowed by every ``everywhere`` constraint and by the ``assets``
  constraints of the scannable devices it may reach; its targets exclude every device that has
  its own template (``restricted``) or must never be scanned (``never``). A scanner without
  targets reaches everywhere, and a template shared by several scanners is safe for the widest
  reach among them;
- ``T@group``: for each group of ``restricted`` devices, T narrowed by their constraints (and
  the ``everywhere`` ones), aimed at exactly those devices, assigned to the scanners of T whose
  targets reach them (a scanner without targets reaches everything).

The rule that ties both (DESIGN.md): every profile with an address inside a template's targets
either narrows the template or has its addresses taken out of the targets (never-scan devices,
and restricted devices of another group that own the address, which get their own template).
A device whose location is unknown narrows every template.

Then plugins may rewrite (``scanguard_rewrite_template``), in priority order; every step is
re-verified with the safety lattice and a weakening rewrite is refused.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterable, NamedTuple

from .errors import SafetyError
from .lattice import merge, merge_all, narrow, safety_regressions, violations
from .model.address_index import AddressIndex
from .model.addresses import AddressSet
from .model.base import trusted
from .model.constraints import Constraints
from .model.exclusion import ExclusionReason, ScannerExclusion
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
           devices: tuple[str, ...], scanners: tuple[str, ...], *, reach_anywhere: bool = False,
           excluded_devices: tuple[str, ...] = (), exclusions: tuple[ScannerExclusion, ...] = ()) -> CompiledTemplate:
    narrowed = narrow(base, c).model_copy(update={"name": name})
    bad = violations(narrowed, c)
    if bad:  # narrow() is built to make this impossible; refuse rather than trust it
        raise SafetyError(f"compiled template {name} still breaks its constraints: " + "; ".join(v.text() for v in bad))
    return CompiledTemplate(
        name=name, base=base.name, group=group, template=narrowed, constraints=c, targets=targets,
        devices=devices, scanners=scanners, removed_ports=base.ports - narrowed.ports,
        reach_anywhere=reach_anywhere, excluded_devices=excluded_devices, exclusions=exclusions,
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

    by_id = {p.id: p for p in profiles}
    addrs = {p.id: p.addresses() for p in profiles}
    located = AddressIndex((p.id, addrs[p.id]) for p in profiles if addrs[p.id])
    everywhere = merge_all(scoped(p, EVERYWHERE) for p in profiles)
    restricted: dict[str, list[DeviceProfile]] = {}
    for p in profiles:
        if p.policy == "restricted":
            restricted.setdefault(p.group_name(), []).append(p)
    never_hosts = _union(addrs[p.id] for p in profiles if p.policy == "never")
    restricted_hosts = _union(addrs[p.id] for group in restricted.values() for p in group)
    scannable = [p for p in profiles if p.policy == "scan"]
    assets_c = {p.id: scoped(p, ASSETS) for p in scannable}
    # a scannable device whose location is unknown may be anywhere: every template honours it
    unlocated = merge_all(assets_c[p.id] for p in scannable if not addrs[p.id])
    group_hosts = {g: _union(addrs[p.id] for p in members) for g, members in restricted.items()}
    rank = {g: (hosts.size(), g) for g, hosts in group_hosts.items()}
    groups = {g: _group(g, members, group_hosts[g], rank, never_hosts, located, by_id, addrs, full,
                        merge(everywhere, unlocated))
              for g, members in restricted.items()}
    exclusions = scanner_exclusions(profiles, addrs, full, src)
    by_device: dict[str, list[ScannerExclusion]] = {}
    for e in exclusions:
        for pid in e.devices:
            by_device.setdefault(pid, []).append(e)

    def relevant(*groups_of_ids: Iterable[str]) -> tuple[ScannerExclusion, ...]:
        ids = sorted(set().union(*groups_of_ids))
        return tuple(e for pid in ids for e in by_device.get(pid, ()))

    groups = {g: grp._replace(exclusions=relevant(grp.devices, grp.left_out)) for g, grp in groups.items()}
    general_cache: dict[AddressSet, tuple[Constraints, tuple[str, ...], tuple[ScannerExclusion, ...]]] = {}
    targets_of = {n: sc.target_set() for n, sc in ws.config.scanners.items()}
    not_here = never_hosts | restricted_hosts

    wanted = ws.config.workspace.templates or [t.name for t in ws.templates]
    out: list[CompiledTemplate] = []
    for tname in wanted:
        base = ws.template(tname)
        if base is None:
            continue
        scanners = tuple(n for n, s in ws.config.scanners.items() if s.templates is None or tname in s.templates)
        include = _union(targets_of[n] for n in scanners)
        # a scanner without targets reaches everywhere, and a template shared by scanners must be
        # safe for each of them: its constraints cover the widest reach among them
        anywhere = not scanners or any(not targets_of[n] for n in scanners)
        reach = (AddressSet.everything() if anywhere or not include else include) - not_here
        if reach not in general_cache:
            hit = located.overlapping(reach)
            reached = [pid for pid in sorted(hit) if by_id[pid].policy == "scan"]
            c = merge(merge(everywhere, unlocated), merge_all(assets_c[pid] for pid in reached))
            left_out = located.overlapping((AddressSet.everything() if anywhere or not include else include) & not_here)
            left_out_ids = tuple(sorted(pid for pid in left_out if by_id[pid].policy != "scan"))
            general_cache[reach] = (c, left_out_ids, relevant(reached, left_out_ids))
        general_c, left_out, near = general_cache[reach]
        out.append(_build(base, tname, None, general_c,
                          Targets(include=include, exclude=not_here),
                          tuple(sorted(p.id for p in scannable)), scanners,
                          reach_anywhere=anywhere, excluded_devices=left_out, exclusions=near))
        for gname in sorted(restricted):
            g = groups[gname]
            # a group template goes to the scanners that can reach the group: those with no
            # targets of their own, or whose targets hold some of its devices
            reaching = tuple(n for n in scanners if not targets_of[n] or targets_of[n].overlaps(g.hosts))
            out.append(_build(base, f"{tname}@{gname}", gname, g.constraints,
                              Targets(include=g.hosts, exclude=g.exclude), g.devices, reaching,
                              excluded_devices=g.left_out, exclusions=g.exclusions))
    if plugins is not None:
        out = [apply_rewrites(ct, ws, plugins) for ct in out]
    return Plan(templates=tuple(out), exclusions=tuple(exclusions))


def scanner_exclusions(profiles: tuple[DeviceProfile, ...], addrs: dict[str, AddressSet],
                       full: dict[str, Constraints], src: dict[str, str]) -> list[ScannerExclusion]:
    """What scanners themselves must refuse (scanguard.model.exclusion): never-scan devices,
    every forbidden port on exactly its device's addresses, devices outside their windows."""
    out: list[ScannerExclusion] = []
    for p in sorted(profiles, key=lambda p: p.id):
        where = addrs[p.id]
        if not where:
            continue
        if p.policy == "never":
            ra = p.risk_acceptance
            why = "must never be scanned" + (f": {ra.reason} (risk accepted by {ra.accepted_by} until {ra.expires})"
                                             if ra else "")
            evidence = (ra.ticket,) if ra and ra.ticket else ()
            reason = trusted(ExclusionReason, profile=p.id, policy=p.policy, reason=why, evidence=evidence,
                             source=src[p.id] or None)
            out.append(trusted(ScannerExclusion, name=f"never:{p.id}", kind="never", addresses=where, ports=None,
                               schedule=frozenset(), devices=(p.id,), reasons=(reason,)))
            continue
        c = full[p.id]
        if c.excluded_ports:
            out.append(trusted(ScannerExclusion, name=f"ports:{p.id}", kind="ports", addresses=where,
                               ports=c.excluded_ports, schedule=frozenset(), devices=(p.id,),
                               reasons=_reasons(p, c, "excluded_ports", src[p.id])))
        if c.windows:
            out.append(trusted(ScannerExclusion, name=f"window:{p.id}", kind="window", addresses=where, ports=None,
                               schedule=c.windows, devices=(p.id,), reasons=_reasons(p, c, "window", src[p.id])))
    return out


def _item(pv) -> str:
    return pv.item


def _reasons(p: DeviceProfile, c: Constraints, kind: str, source: str | None) -> tuple[ExclusionReason, ...]:
    """Why the device's exclusion of this kind exists: its constraint items of that kind, by item."""
    return tuple(trusted(ExclusionReason, profile=p.id, policy=p.policy, reason=f"{pv.item}: {pv.reason}",
                         evidence=pv.evidence, source=source or None)
                 for pv in sorted((pv for pv in c.provenance if pv.kind == kind), key=_item))


class _Group(NamedTuple):
    hosts: AddressSet
    exclude: AddressSet
    constraints: Constraints
    devices: tuple[str, ...]
    left_out: tuple[str, ...]
    exclusions: tuple[ScannerExclusion, ...] = ()


def _group(gname: str, members: list[DeviceProfile], hosts: AddressSet, rank: dict[str, tuple[int, str]],
           never_hosts: AddressSet, located: AddressIndex[str], by_id: dict[str, DeviceProfile],
           addrs: dict[str, AddressSet], full: dict[str, Constraints], everywhere: Constraints) -> _Group:
    """A restricted group's template: aimed at its devices, less never-scan addresses and less
    the addresses it shares with a restricted group that owns them; narrowed by every other
    profile with an address left in its targets.

    Two restricted groups that share addresses: the smaller group (fewer addresses, then the name)
    owns the shared ones (the more specific profile wins, as in longest-prefix routing). Its
    template keeps them and is narrowed by the other group's constraints too; the other group's
    template excludes them. So every shared address is scanned by exactly one template, safe for
    every profile that claims it."""
    ids = {p.id for p in members}
    exclude = never_hosts
    for pid in sorted(located.overlapping(hosts) - ids):
        other = by_id[pid]
        if other.policy == "restricted" and rank[other.group_name()] < rank[gname]:
            exclude = exclude | (hosts & addrs[pid])
    remaining = hosts - exclude
    reached = sorted(pid for pid in located.overlapping(remaining) - ids if by_id[pid].policy != "never")
    c = merge(everywhere, merge_all([*(full[p.id] for p in members), *(full[pid] for pid in reached)]))
    left_out = sorted(pid for pid in located.overlapping(hosts & exclude) - ids if by_id[pid].policy != "scan")
    return _Group(hosts, exclude, c, tuple(sorted(ids | set(reached))), tuple(left_out))


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
    return AddressSet.union_all(sets)
