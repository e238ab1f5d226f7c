"""Render a plan into each vendor's native documents (and their extra artifacts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CannotEnforce, PluginError, SafetyError
from .lattice import violations
from .model.base import Model
from .model.plan import CompiledTemplate, Plan
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
        raise CannotEnforce(f"vendor {vendor.name} refuses {ct.name}: {e}") from e
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
    artifacts = vendor.artifacts(ct) if vendor.artifacts else {}
    return Rendered(name=ct.name, vendor=vendor.name, base=ct.base, group=ct.group,
                    include=tuple(ct.targets.include.items()), exclude=tuple(ct.targets.exclude.items()),
                    payload=payload, artifacts=artifacts)


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


def write_rendered(items: list[Rendered], vendors: dict[str, Vendor], out_dir: Path) -> list[Path]:
    """Write each payload (and artifact) under out_dir/<vendor>/; returns the files written."""
    written = []
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
