"""Why a compiled template looks the way it does: which profile, constraint, reason and
evidence removed a port, a check or speed."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from .model.addresses import AddressSet
from .model.base import Model
from .model.constraints import Provenance
from .model.plan import CompiledTemplate
from .model.ports import PortSet
from .model.template import ScanTemplate
from .text import briefly

if TYPE_CHECKING:
    from .plugin.records import Vendor
    from .workspace import Workspace


class ConstraintView(Model):
    """One constraint that narrowed a template, as `explain` shows it: what the profile asks
    (`value`), what the template keeps (`template`), where it is written, and with a vendor, the
    vendor's settings that carry it (`settings`, told by rendering the template with and
    without it) or why the vendor refuses the template (`refused`)."""

    provenance: Provenance
    value: str
    template: str
    file: str | None = None
    line: int | None = None
    vendor: str | None = None
    settings: tuple[str, ...] = ()
    refused: str | None = None


class Explanation(Model):
    """The answer to "why" for one compiled template (optionally about one port or one host)."""

    template: str
    base: str
    group: str | None
    devices: tuple[str, ...]
    port: str | None = None
    probed: bool | None = None
    in_base: bool | None = None
    because: tuple[Provenance, ...] = ()
    excluded_devices: tuple[str, ...] = ()
    """Profiles whose addresses were taken out of the template's targets (with `port`: those
    that forbid it, when the workspace is given)."""
    summary: str = ""
    host: str | None = None
    reached: bool | None = None
    """With `host`: whether the template may probe that address."""
    host_devices: tuple[str, ...] = ()
    """With `host`: the profiles that place a device at that address."""
    constraints: tuple[ConstraintView, ...] = ()
    """Every constraint in `because`, with its values (when explain is given the workspace)."""


def explain(ct: CompiledTemplate, port: str | None = None, workspace: "Workspace | None" = None) -> Explanation:
    """Explain a compiled template; with `port` ("7100/tcp"), only what concerns that port. With
    the `workspace`, a probed port also names the devices taken out of the targets that forbid it."""
    if port is None:
        summary = f"{len(ct.provenance)} constraint(s) narrowed {ct.base} into {ct.name}"
        if ct.excluded_devices:
            summary += f"; {_left_out(ct, ct.excluded_devices, workspace)} taken out of its targets"
        return Explanation(template=ct.name, base=ct.base, group=ct.group, devices=ct.devices,
                           because=ct.provenance, excluded_devices=ct.excluded_devices, summary=summary)
    ps = PortSet.parse(port)
    probed = ps.issubset(ct.template.ports)
    in_base = ps.issubset(ct.template.ports | ct.removed_ports)
    because = tuple(p for p in ct.provenance if p.ports is not None and (p.ports & ps))
    left_out = ct.excluded_devices
    if workspace is not None:
        left_out = tuple(pid for pid in ct.excluded_devices if _forbids(workspace, pid, ps))
    if probed:
        # every device left in the targets narrowed the template; those that forbid the port and
        # were taken out of the targets are named, never passed over
        summary = f"{ct.name} probes {ps}: no device it may reach excludes it"
        if left_out:
            one = len(left_out) == 1
            verb = ("forbids" if one else "forbid") if workspace is not None else "may forbid"
            summary += f"; {_left_out(ct, left_out, workspace)}, which {verb} it, {'is' if one else 'are'} " \
                       "taken out of its targets"
    elif not in_base:
        summary = f"{ps} is not in base template {ct.base}"
        if because:
            summary += "; it is also excluded by a profile"
    elif because:
        summary = f"{ps} removed from {ct.name} by " + briefly(sorted({p.profile for p in because}))
    else:
        summary = f"{ps} removed from {ct.name} by a rewrite ({', '.join(ct.rewrites)})"
    return Explanation(template=ct.name, base=ct.base, group=ct.group, devices=ct.devices, port=ps.text(),
                       probed=probed, in_base=in_base, because=because, excluded_devices=left_out, summary=summary)


def _forbids(ws: "Workspace", pid: str, ports: PortSet) -> bool:
    p = ws.profile(pid)
    return p is None or p.policy == "never" or bool(p.lattice().excluded_ports & ports)


def _left_out(ct: CompiledTemplate, ids: tuple[str, ...], ws: "Workspace | None", limit: int = 5) -> str:
    def one(pid: str) -> str:
        p = ws.profile(pid) if ws is not None else None
        if p is None:
            return pid
        items = (p.addresses() & ct.targets.exclude).items()
        return f"{pid} ({', '.join(items[:3])}{', ...' if len(items) > 3 else ''})"

    return ", ".join(one(pid) for pid in ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


_DISCOVERY_KEYS = {"syn_scan": "tcp_syn", "udp_scan": "udp"}
"""Provenance items of discovery limits whose key in a profile has another name."""


def constraint_key(ws: "Workspace", prov: Provenance) -> tuple:
    """The key path, in its profile's YAML, of the constraint a provenance names
    (("constraints", "rate", "probe_delay_ms"), ("constraints", "excluded_ports", 0))."""
    profile = ws.profile(prov.profile)
    c = profile.constraints if profile is not None else None
    if prov.kind == "excluded_ports" and c is not None:
        for i, pe in enumerate(c.excluded_ports):
            if pe.ports.text() == prov.item:
                return ("constraints", "excluded_ports", i)
        return ("constraints", "excluded_ports")
    if prov.kind == "excluded_checks" and c is not None:
        from .model.checks import parse_vendor_checks

        for i, ce in enumerate(c.excluded_checks):
            names = {f"category:{x}" for x in ce.categories} | {v.text() for v in parse_vendor_checks(ce.vendor)}
            if prov.item in names:
                return ("constraints", "excluded_checks", i)
        return ("constraints", "excluded_checks")
    if prov.kind == "discovery":
        return ("constraints", "discovery", _DISCOVERY_KEYS.get(prov.item, prov.item))
    if prov.kind == "rate":
        return ("constraints", "rate", prov.item)
    if prov.kind == "safe_checks":
        return ("constraints", "safe_checks_only")
    return ("constraints", "windows")


def locate(ws: "Workspace", prov: Provenance) -> tuple[str, int | None, str]:
    """(file, line, field) of the constraint a provenance names, as a Problem would carry them:
    ("profiles/pump.yaml", 14, "constraints.rate.probe_delay_ms")."""
    file = prov.source or ws.source_of(f"profile:{prov.profile}")
    key = constraint_key(ws, prov)
    field = ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in key).replace(".[", "[")
    return file, ws.line_of(file, key) if file else None, field


RATE_WORDS = {"packets_per_second": "at most {} packets/s", "parallel_hosts": "at most {} hosts at once",
              "parallel_checks_per_host": "at most {} checks per host at once",
              "probe_delay_ms": "at least {} ms between probes", "timeout_s": "time-outs of at most {} s"}
"""How a rate limit reads, by its key."""


def constraint_value(ws: "Workspace", prov: Provenance) -> str:
    """What the profile asks, with its value: "at least 250 ms between probes", "7100/tcp
    excluded", "icmp not allowed"."""
    profile = ws.profile(prov.profile)
    c = profile.constraints if profile is not None else None
    if prov.kind == "rate":
        value = getattr(c.rate, prov.item, None) if c is not None and c.rate is not None else None
        return RATE_WORDS.get(prov.item, prov.item + " {}").format(value if value is not None else "?")
    if prov.kind == "excluded_ports":
        return f"{prov.item} never probed"
    if prov.kind == "excluded_checks":
        return f"checks {prov.item} never run"
    if prov.kind == "discovery":
        if prov.item == "ping_ports":
            return f"liveness pings only to {prov.ports.text() if prov.ports is not None else '?'}"
        return f"{prov.item.replace('_', ' ')} not allowed"
    if prov.kind == "safe_checks":
        return "safe checks only"
    return f"scans only in {prov.item}"


def template_setting(ct: CompiledTemplate, prov: Provenance) -> str:
    """How the compiled (vendor-neutral) template keeps a constraint."""
    t = ct.template
    if prov.kind == "rate":
        return f"performance.{prov.item} = {getattr(t.performance, prov.item, '?')}"
    if prov.kind == "excluded_ports" and prov.ports is not None:
        kept = not (t.ports & prov.ports) and not (t.discovery.ping_ports & prov.ports)
        return f"ports leave out {prov.ports.text()}" if kept else f"ports still hold {(t.ports & prov.ports).text()}"
    if prov.kind == "excluded_checks":
        what = prov.item.removeprefix("category:")
        held = what in t.checks.excluded_categories or prov.item in {v.text() for v in t.checks.excluded_vendor_checks}
        return f"checks exclude {what}" if held else f"checks do not exclude {what}"
    if prov.kind == "discovery":
        d = t.discovery
        if prov.item == "ping_ports":
            return f"discovery.ping_ports = {d.ping_ports.text() or '(none)'}"
        if prov.item == "syn_scan":
            return f"discovery.port_scan = {d.port_scan}"
        if prov.item == "udp_scan":
            return f"ports.udp = {PortSet(None, t.ports.udp).text() or '(none)'}"
        return f"discovery.{prov.item} = {str(getattr(d, prov.item, '?')).lower()}"
    if prov.kind == "safe_checks":
        return f"checks.safe_only = {str(t.checks.safe_only).lower()}"
    return f"windows: {'; '.join(' or '.join(w.text() for w in ws_) for ws_ in t.windows) or '(any time)'}"


def without(ct: CompiledTemplate, prov: Provenance, base: ScanTemplate) -> CompiledTemplate:
    """The compiled template as it would be if this one constraint had not narrowed it (the
    setting taken back to the base template's), all else equal: rendered beside the real one,
    the difference is the vendor's setting that carries the constraint."""
    t = ct.template
    if prov.kind == "rate":
        t = t.model_copy(update={"performance": t.performance.model_copy(
            update={prov.item: getattr(base.performance, prov.item)})})
    elif prov.kind == "excluded_ports" and prov.ports is not None:
        d = t.discovery
        t = t.model_copy(update={"ports": t.ports | (prov.ports & base.ports), "discovery": d.model_copy(
            update={"ping_ports": d.ping_ports | (prov.ports & base.discovery.ping_ports)})})
    elif prov.kind == "excluded_checks":
        ch = t.checks
        cats = ch.excluded_categories - ({prov.item.removeprefix("category:")} - base.checks.excluded_categories)
        vendor = frozenset(v for v in ch.excluded_vendor_checks
                           if v.text() != prov.item or v in base.checks.excluded_vendor_checks)
        t = t.model_copy(update={"checks": ch.model_copy(
            update={"excluded_categories": cats, "excluded_vendor_checks": vendor})})
    elif prov.kind == "discovery":
        d, b = t.discovery, base.discovery
        if prov.item == "syn_scan":
            t = t.model_copy(update={"discovery": d.model_copy(update={"port_scan": b.port_scan})})
        elif prov.item == "udp_scan":
            t = t.model_copy(update={"ports": PortSet(t.ports.tcp, base.ports.udp)})
        elif prov.item == "ping_ports":
            t = t.model_copy(update={"discovery": d.model_copy(update={"ping_ports": b.ping_ports})})
        elif prov.item in ("icmp", "arp", "tcp_ping", "udp_ping"):
            t = t.model_copy(update={"discovery": d.model_copy(update={prov.item: getattr(b, prov.item)})})
    elif prov.kind == "safe_checks":
        t = t.model_copy(update={"checks": t.checks.model_copy(update={"safe_only": base.checks.safe_only})})
    else:
        t = t.model_copy(update={"windows": base.windows})
    return ct.model_copy(update={"template": t})


def setting_changes(real: Any, other: Any, path: str = "", limit: int = 8) -> list[str]:
    """Where two renderings of a template differ, as "path: value (without it: other)" lines;
    lists are compared as sequences, so an argument vector shows the arguments that differ."""
    out: list[str] = []

    def short(v: Any) -> str:
        text = v if isinstance(v, str) else json.dumps(v, default=str)
        return text if len(text) <= 100 else text[:97] + "..."

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                walk(a.get(k, "(absent)"), b.get(k, "(absent)"), f"{where}.{k}" if where else str(k))
        elif isinstance(a, list) and isinstance(b, list) and a != b:
            if len(a) == len(b) and all(isinstance(x, (dict, list)) for x in a):
                for i, (x, y) in enumerate(zip(a, b)):
                    walk(x, y, f"{where}[{i}]")
                return
            sm = difflib.SequenceMatcher(a=[json.dumps(x, default=str) for x in a],
                                         b=[json.dumps(y, default=str) for y in b], autojunk=False)
            for op, i1, i2, j1, j2 in sm.get_opcodes():
                if op != "equal":
                    # the item before, the same in both, gives the change its context (an option's flag)
                    lead = [short(a[i1 - 1])] if i1 else []
                    mine = " ".join(lead + [short(x) for x in a[i1:i2]]) or "(nothing)"
                    theirs = " ".join(lead + [short(y) for y in b[j1:j2]]) or "(nothing)"
                    out.append(f"{where or '(document)'}: {mine} (without it: {theirs})")
        elif a != b:
            out.append(f"{where or '(document)'}: {short(a)} (without it: {short(b)})")

    walk(real, other, path)
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def vendor_settings(ct: CompiledTemplate, prov: Provenance, base: ScanTemplate | None,
                    vendor: "Vendor") -> tuple[tuple[str, ...], str | None]:
    """(the vendor's settings that carry a constraint, or why the vendor refuses the template).
    Told by asking the vendor: render the template as compiled and as it would be without the
    constraint, and compare. Empty when both renderings are the same (the base template, or
    another profile, asks for as much)."""
    from .errors import CannotEnforce

    try:
        real = vendor.render(ct)
    except CannotEnforce as e:
        return (), str(e)
    except Exception as e:  # noqa: BLE001 - a failing plugin is reported, never a traceback
        return (), f"{type(e).__name__}: {e}"
    if base is None:
        return (), None
    try:
        other = vendor.render(without(ct, prov, base))
    except Exception:  # noqa: BLE001 - it renders only with the constraint: that is the answer too
        return ("(the vendor renders the template only with this constraint)",), None
    return tuple(setting_changes(real, other)), None


def constraint_views(ct: CompiledTemplate, provs: tuple[Provenance, ...], ws: "Workspace",
                     vendor: "Vendor | None" = None) -> tuple[ConstraintView, ...]:
    """Each constraint with its values, its place in the profile and, with a vendor, the
    vendor's settings that carry it."""
    base = ws.template(ct.base)
    out = []
    for p in provs:
        file, line, _ = locate(ws, p)
        settings, refused = vendor_settings(ct, p, base, vendor) if vendor is not None else ((), None)
        out.append(ConstraintView(provenance=p, value=constraint_value(ws, p), template=template_setting(ct, p),
                                  file=file or None, line=line, vendor=vendor.name if vendor is not None else None,
                                  settings=settings, refused=refused))
    return tuple(out)


def explain_host(ct: CompiledTemplate, host: str, ws: "Workspace", others: tuple[CompiledTemplate, ...] = ()
                 ) -> Explanation:
    """Why `host` (an address, CIDR or range) is or is not reached by a compiled template, and
    the constraints that apply to it there. `others`: the plan's templates, to name the one that
    reaches a device this template leaves out. ValueError for an address that cannot be read."""
    addr = AddressSet.parse([host])
    devices = tuple(p.id for p in ws.profiles if p.addresses().overlaps(addr))
    base = Explanation(template=ct.name, base=ct.base, group=ct.group, devices=ct.devices, host=host,
                       host_devices=devices)
    left_out = tuple(d for d in devices if d in ct.excluded_devices) if addr.overlaps(ct.targets.exclude) else ()
    if addr.issubset(ct.reach()):
        mine = tuple(p for p in ct.provenance if p.profile in devices)
        if devices:
            summary = (f"{ct.name} reaches {host}, where {', '.join(devices)} "
                       f"{'is' if len(devices) == 1 else 'are'}: it keeps "
                       f"{'its' if len(devices) == 1 else 'their'} constraints below")
        else:
            summary = f"{ct.name} reaches {host}; no profile places a device there: it probes it as narrowed below"
            mine = ct.provenance
        if not ct.targets.include and not ct.reach_anywhere:
            summary += " (its targets are chosen on the scanner)"
        return base.model_copy(update={"reached": True, "because": mine, "summary": summary})
    if addr.overlaps(ct.reach()):
        summary = f"{ct.name} reaches only part of {host}: {', '.join((addr & ct.reach()).items()[:5])}"
        return base.model_copy(update={"reached": False, "summary": summary,
                                       "because": tuple(p for p in ct.provenance if p.profile in devices)})
    if addr.overlaps(ct.targets.exclude):
        why = []
        for pid in left_out or devices:
            p = ws.profile(pid)
            if p is None:
                continue
            if p.policy == "never":
                why.append(f"{pid} must never be scanned")
            else:
                owner = next((o.name for o in others if o.base == ct.base and pid in o.devices
                              and addr.overlaps(o.reach())), f"{ct.base}@{p.group_name()}")
                why.append(f"{pid} is scanned only with {owner}")
        summary = f"{ct.name} does not reach {host}: it is taken out of its targets ({'; '.join(why) or 'excluded'})"
        return base.model_copy(update={"reached": False, "excluded_devices": left_out, "summary": summary})
    where = ", ".join(ct.targets.include.items()[:5])
    summary = f"{ct.name} does not reach {host}: it lies outside its targets ({where})"
    owner = next((o.name for o in others if o.base == ct.base and addr.issubset(o.reach())), None)
    if owner:
        summary += f"; {owner} reaches it"
    return base.model_copy(update={"reached": False, "summary": summary})
