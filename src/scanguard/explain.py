"""Why a compiled template looks the way it does: which profile, constraint, reason and
evidence removed a port, a check or speed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model.base import Model
from .model.constraints import Provenance
from .model.plan import CompiledTemplate
from .model.ports import PortSet
from .text import briefly

if TYPE_CHECKING:
    from .workspace import Workspace


class Explanation(Model):
    """The answer to "why" for one compiled template (optionally about one port)."""

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
