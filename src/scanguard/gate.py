"""`validate` as the one gate: everything that `render`, `sync` and `check` would refuse about a
workspace, found without a scanner. Beyond the files themselves (scanguard.workspace):

- every scanner's type must be a vendor some loaded plugin provides;
- the workspace must compile, and every template a scanner is assigned must render for its
  vendor and read back as safe as its profiles ask; a vendor that cannot keep a constraint
  (Nessus has no delay between probes) is a problem located at the profile lines asking for it;
- the scanner-side exclusions must render for every vendor that keeps them;
- with credentials, every credential variable scanguard.toml names must be set (or be in the
  keyring), all of them reported at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CannotEnforce, Problem, ScanguardError
from .explain import locate
from .model.plan import CompiledTemplate
from .secrets import resolve
from .workspace import CONFIG_FILE, Workspace, check_vendors, setting_line

if TYPE_CHECKING:
    from .plugin.manager import PluginManager


def refusal_places(ws: Workspace, ct: CompiledTemplate, scanner: str,
                   error: ScanguardError) -> list[tuple[str, int | None, str]]:
    """Where a refused rendering comes from, as (file, line, field): the profile lines of the
    constraints the vendor says it cannot keep; else the profiles of the template's devices;
    else the scanner's entry in scanguard.toml."""
    items = set(getattr(error, "items", ()) or ())
    provs = [p for p in ct.constraints.provenance if p.item in items] if isinstance(error, CannotEnforce) else []
    if provs:
        places = [locate(ws, p) for p in sorted(provs, key=lambda p: (p.profile, p.item))]
        return list(dict.fromkeys(places))
    files = [ws.source_of(f"profile:{d}") for d in ct.devices]
    if files and all(files):
        return [(f, None, "") for f in sorted(set(files))]
    line, key = setting_line(ws, scanner, "templates")
    return [(CONFIG_FILE, line, key)]


def vendor_problems(ws: Workspace, plugins: "PluginManager") -> list[Problem]:
    """Every scanner's vendor loaded, the workspace compiled, and every template each scanner is
    assigned rendered and verified for its vendor (each (vendor, template) once). A refusal is
    one problem per place and reason, naming every template it refuses."""
    from .compile import bulk_allocation

    with bulk_allocation():  # as render does: no GC passes over the loaded workspace meanwhile
        return _vendor_problems(ws, plugins)


def _vendor_problems(ws: Workspace, plugins: "PluginManager") -> list[Problem]:
    from .compile import compile_plan
    from .render import render_exclusions, render_one

    loaded = plugins.vendors()
    problems = list(check_vendors(ws, set(loaded)))
    try:
        plan = compile_plan(ws, plugins)
    except ScanguardError as e:
        return problems + [Problem(CONFIG_FILE, None, "", f"the workspace does not compile: {e}")]
    rendered: set[tuple[str, str]] = set()
    refused: dict[tuple, list[str]] = {}  # (file, line, field, scanner, vendor, reason) -> templates
    excluded: set[str] = set()
    for sname, sc in sorted(ws.config.scanners.items()):
        vendor = loaded.get(sc.type)
        if vendor is None:
            continue
        for ct in plan.for_scanner(sname):
            if (vendor.name, ct.name) in rendered:
                continue
            rendered.add((vendor.name, ct.name))
            try:
                render_one(ct, vendor)
            except ScanguardError as e:
                # the vendor's own words, without render's "vendor X refuses T:" around them
                reason = str(e.__cause__ if isinstance(e.__cause__, CannotEnforce) else e)
                for place in refusal_places(ws, ct, sname, e):
                    refused.setdefault((*place, sname, vendor.name, reason), []).append(ct.name)
        if vendor.name not in excluded:
            excluded.add(vendor.name)
            try:
                render_exclusions(plan.exclusions_for(sname), vendor)
            except ScanguardError as e:
                line, key = setting_line(ws, sname, "type")
                problems.append(Problem(CONFIG_FILE, line, key, f"scanner-side exclusions for {vendor.name}: {e}"))
    for (file, line, field, sname, vname, reason), templates in refused.items():
        names = ", ".join(sorted(templates))
        problems.append(Problem(file, line, field, f"scanner {sname} ({vname}) cannot use {names}: {reason}"))
    return problems


def credential_problems(ws: Workspace, plugins: "PluginManager | None" = None) -> list[Problem]:
    """Every credential scanguard.toml names that is set neither in the environment nor in the
    keyring, all at once (scanners whose vendor has no client, like nmap, need none)."""
    loaded = plugins.vendors() if plugins is not None else {}
    out = []
    for sname, sc in sorted(ws.config.scanners.items()):
        vendor = loaded.get(sc.type)
        if vendor is not None and vendor.client is None:
            continue
        for field, env in sorted(sc.credentials.items()):
            if resolve(sc, field, required=False) is None:
                keyring = f" (nor in the keyring service {sc.keyring_service!r})" if sc.keyring_service else ""
                line, key = setting_line(ws, sname, f"credentials.{field}")
                out.append(Problem(CONFIG_FILE, line, key, f"environment variable {env} is not set{keyring}: sync, "
                                                           f"diff and check --scanner cannot reach {sname} without it"))
    return out
