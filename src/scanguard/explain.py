"""Why a compiled template looks the way it does: which profile, constraint, reason and
evidence removed a port, a check or speed."""

from __future__ import annotations

from .model.base import Model
from .model.constraints import Provenance
from .model.plan import CompiledTemplate
from .model.ports import PortSet


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
    summary: str = ""


def explain(ct: CompiledTemplate, port: str | None = None) -> Explanation:
    """Explain a compiled template; with `port` ("7100/tcp"), only what concerns that port."""
    if port is None:
        return Explanation(template=ct.name, base=ct.base, group=ct.group, devices=ct.devices,
                           because=ct.provenance,
                           summary=f"{len(ct.provenance)} constraint(s) narrowed {ct.base} into {ct.name}")
    ps = PortSet.parse(port)
    probed = ps.issubset(ct.template.ports)
    in_base = ps.issubset(ct.template.ports | ct.removed_ports)
    because = tuple(p for p in ct.provenance if p.ports is not None and (p.ports & ps))
    if probed:
        summary = f"{ct.name} probes {ps}: no profile in its scope excludes it"
    elif not in_base:
        summary = f"{ps} is not in base template {ct.base}"
        if because:
            summary += "; it is also excluded by a profile"
    elif because:
        summary = f"{ps} removed from {ct.name} by " + ", ".join(sorted({p.profile for p in because}))
    else:
        summary = f"{ps} removed from {ct.name} by a rewrite ({', '.join(ct.rewrites)})"
    return Explanation(template=ct.name, base=ct.base, group=ct.group, devices=ct.devices, port=ps.text(),
                       probed=probed, in_base=in_base, because=because, summary=summary)
