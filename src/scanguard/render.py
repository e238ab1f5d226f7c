"""Render a plan into each vendor's native documents (and their extra artifacts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .errors import CannotEnforce, PluginError, SafetyError
from .lattice import exclusion_gaps, violations
from .model.addresses import AddressSet
from .model.base import Model
from .model.exclusion import ScannerExclusion
from .model.plan import CompiledTemplate, Plan, Targets
from .plugin.records import Vendor


class Rendered(Model):
    """One compiled template rendered for one vendor."""

    name: str
    vendor: str
    base: str
    group: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    payload: Any
    artifacts: dict[str, str] = {}


def render_one(ct: CompiledTemplate, vendor: Vendor) -> Rendered:
    """Render and verify: the payload read back must not break the template's constraints."""
    try:
        payload = vendor.render(ct)
    except CannotEnforce as e:
        raise CannotEnforce(f"vendor {vendor.name} refuses {ct.name}: {e}", items=getattr(e, "items", ())) from e
    except Exception as e:
        raise PluginError(f"vendor {vendor.name} failed to render {ct.name}: {type(e).__name__}: {e}") from e
    try:
        back = vendor.parse(payload)
    except Exception as e:
        raise PluginError(f"vendor {vendor.name} cannot parse back its own rendering of {ct.name}: "
                          f"{type(e).__name__}: {e}") from e
    bad = violations(back, ct.constraints, vendor=vendor.name)
    if bad:
        raise SafetyError(f"vendor {vendor.name} rendered {ct.name} less safe than its profiles allow; refused: "
                          + "; ".join(v.text() for v in bad))
    if vendor.parse_targets is not None:
        try:
            aimed = vendor.parse_targets(payload)
        except Exception as e:
            raise PluginError(f"vendor {vendor.name} cannot read the targets of its own rendering of {ct.name}: "
                              f"{type(e).__name__}: {e}") from e
        beyond = targets_beyond(ct, aimed)
        if beyond:
            raise SafetyError(f"vendor {vendor.name} rendered {ct.name} aimed at {beyond}; refused")
    artifacts = vendor.artifacts(ct) if vendor.artifacts else {}
    return Rendered(name=ct.name, vendor=vendor.name, base=ct.base, group=ct.group,
                    include=tuple(ct.targets.include.items()), exclude=tuple(ct.targets.exclude.items()),
                    payload=payload, artifacts=artifacts)


def targets_beyond(ct: CompiledTemplate, aimed: Targets) -> str:
    """"" when a vendor document aimed at `aimed` stays inside the compiled template's reach;
    else the addresses it reaches beyond it (never-scan devices, restricted devices of another
    template), as text."""
    where = aimed.include if aimed.include else AddressSet.everything()
    beyond = (where - aimed.exclude) - ct.reach()
    if not beyond:
        return ""
    items = beyond.items()
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more range(s)" if len(items) > 5 else "") + \
        ", which its compiled targets exclude"


class RenderedExclusion(Model):
    """One scanner-side exclusion document of one vendor, and the exclusions it keeps."""

    vendor: str
    name: str
    payload: Any
    keeps: tuple[str, ...]
    """The names of the exclusions the document keeps."""


def render_exclusions(exclusions: tuple[ScannerExclusion, ...], vendor: Vendor) -> list[RenderedExclusion]:
    """The vendor's scanner-side exclusion documents, verified: read back, together they block
    at least every exclusion the vendor can keep (SafetyError otherwise). Empty for a vendor
    without exclusion support."""
    support = vendor.exclusions
    if support is None:
        return []
    wanted = support.enforceable(exclusions)
    try:
        docs = support.render(wanted)
    except Exception as e:
        raise PluginError(f"vendor {vendor.name} failed to render its scanner-side exclusions: "
                          f"{type(e).__name__}: {e}") from e
    held: list[ScannerExclusion] = []
    for name, payload in docs.items():
        try:
            held.extend(support.parse(payload))
        except Exception as e:
            raise PluginError(f"vendor {vendor.name} cannot parse back its exclusion document {name}: "
                              f"{type(e).__name__}: {e}") from e
    gaps = exclusion_gaps(wanted, held)
    if gaps:
        raise SafetyError(f"vendor {vendor.name} rendered scanner-side exclusions that do not block what the "
                          "profiles require; refused: " + "; ".join(gaps[:10]))
    names = tuple(e.name for e in wanted)
    return [RenderedExclusion(vendor=vendor.name, name=name, payload=payload, keeps=names)
            for name, payload in sorted(docs.items())]


def render_plan(plan: Plan, vendors: dict[str, Vendor], scanners_by_vendor: dict[str, list[str]] | None = None) -> list[Rendered]:
    """Every compiled template for every vendor. With `scanners_by_vendor`, a vendor gets only
    the templates assigned to its scanners."""
    from .compile import bulk_allocation

    with bulk_allocation():
        return _render_all(plan, vendors, scanners_by_vendor)


def _render_all(plan: Plan, vendors: dict[str, Vendor], scanners_by_vendor: dict[str, list[str]] | None) -> list[Rendered]:
    out = []
    for vname, vendor in vendors.items():
        for ct in plan.templates:
            if scanners_by_vendor is not None:
                wanted = scanners_by_vendor.get(vname)
                if wanted is not None and not set(wanted) & set(ct.scanners):
                    continue
            out.append(render_one(ct, vendor))
    return out


def write_rendered(items: list[Rendered], vendors: dict[str, Vendor], out_dir: Path,
                   exclusions: Sequence[RenderedExclusion] = ()) -> list[Path]:
    """Write each payload (and artifact) under out_dir/<vendor>/, and each scanner-side exclusion
    document under out_dir/<vendor>/exclusions/; returns the files written."""
    written = []
    for x in exclusions:
        support = vendors[x.vendor].exclusions
        assert support is not None
        folder = out_dir / x.vendor / "exclusions"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{x.name}{support.suffix}"
        path.write_text(support.serialize(x.payload), encoding="utf-8")
        written.append(path)
    for r in items:
        v = vendors[r.vendor]
        folder = out_dir / r.vendor
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{r.name}{v.suffix}"
        path.write_text(v.serialize(r.payload), encoding="utf-8")
        written.append(path)
        for fname, text in r.artifacts.items():
            apath = folder / fname
            apath.write_text(text, encoding="utf-8")
            written.append(apath)
    return written
