"""The plugin manager facade: the only place the core touches pluggy.

Built-in plugins are ordinary plugins listed in DEFAULT_PLUGINS. External plugins (the vendor
plugins shipped in plugins/ among them) load through the ``scanguard`` entry-point group, filtered
by the SCANGUARD_LOAD_PLUGINS allow-list. A plugin that fails to load is logged with its
distribution and skipped; commands that need what it would have provided refuse to run.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import pluggy

from .. import hookspecs
from ..errors import PluginError
from ..model.events import ActivityEvent, CheckRequest, CheckResult, HealthEvent, Outage, Suspect
from .records import HealthSource, ReportFormat, TemplateRewrite, Vendor

if TYPE_CHECKING:
    from ..model.plan import CompiledTemplate
    from ..workspace import Workspace

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "scanguard"
ALLOW_ENV = "SCANGUARD_LOAD_PLUGINS"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "scanguard.builtin.checks",
    "scanguard.builtin.correlators",
    "scanguard.builtin.reports",
    "scanguard.builtin.health",
)
"""Built-in plugins, loaded like any other plugin."""


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str
    version: str
    error: str

    def text(self) -> str:
        """"plugin 'x' from distribution y 1.0 failed to load: ImportError: ..."."""
        return f"plugin {self.name!r} from distribution {self.distribution} {self.version} failed to load: {self.error}"


@dataclass(frozen=True)
class PluginInfo:
    """What `scanguard plugins` shows for one loaded plugin."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    vendors: tuple[str, ...] = ()
    builtin: bool = False


@dataclass
class PluginManager:
    """Typed facade over pluggy: one method per hook. Use :func:`load_plugins` to build one."""

    pm: pluggy.PluginManager = field(default_factory=lambda: _new_pm())
    failures: list[LoadFailure] = field(default_factory=list)
    _dists: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    _vendors: dict[str, Vendor] | None = None
    _vendor_owner: dict[str, str] = field(default_factory=dict)

    # -- loading -------------------------------------------------------------------------------
    def register(self, plugin: Any, name: str | None = None, *, distribution: str = "", version: str = "",
                 builtin: bool = False) -> str:
        """Register a plugin object (module or instance); returns its name."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:
            raise PluginError(f"plugin {name!r} is already registered")
        self._dists[registered] = (distribution, version, builtin)
        self._vendors = None
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name."""
        self.pm.unregister(name=name)
        self._dists.pop(name, None)
        self._vendors = None

    def load_defaults(self) -> None:
        """Register DEFAULT_PLUGINS."""
        from .. import __version__

        for modname in DEFAULT_PLUGINS:
            module = importlib.import_module(modname)
            self.register(module, modname, distribution="scanguard", version=__version__, builtin=True)

    def load_entry_points(self) -> None:
        """Load the ``scanguard`` entry points allowed by SCANGUARD_LOAD_PLUGINS (unset: all;
        empty: none; else comma-separated entry-point or distribution names)."""
        allow_raw = os.environ.get(ALLOW_ENV)
        allow = None if allow_raw is None else {a.strip() for a in allow_raw.split(",") if a.strip()}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else "unknown"
            dist_version = dist.version if dist is not None else "?"
            if allow is not None and ep.name not in allow and dist_name not in allow:
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
                if isinstance(plugin, type):
                    plugin = plugin()
                self.register(plugin, ep.name, distribution=dist_name, version=dist_version)
            except Exception as e:  # a broken third-party plugin must not take scanguard down
                failure = LoadFailure(ep.name, dist_name, dist_version, f"{type(e).__name__}: {e}")
                self.failures.append(failure)
                log.warning("%s; skipped", failure.text())

    # -- registration hooks ----------------------------------------------------------------------
    def vendors(self) -> dict[str, Vendor]:
        """Every registered vendor by name. Raises PluginError when two plugins register the
        same name or a plugin registers something that is not a Vendor."""
        if self._vendors is not None:
            return self._vendors
        found: dict[str, Vendor] = {}
        owner: dict[str, str] = {}
        for impl in self.pm.hook.scanguard_vendors.get_hookimpls():
            try:
                recs = _records(impl.function(), Vendor, impl.plugin_name, "scanguard_vendors")
            except Exception as e:  # a plugin whose registration fails is a plugin that failed to load
                dist, version, _ = self._dists.get(impl.plugin_name, ("unknown", "?", False))
                failure = LoadFailure(impl.plugin_name, dist or "unknown", version or "?",
                                      f"scanguard_vendors raised {type(e).__name__}: {e}")
                if failure not in self.failures:
                    self.failures.append(failure)
                    log.warning("%s; skipped", failure.text())
                continue
            for rec in recs:
                if rec.name in found:
                    raise PluginError(
                        f"vendor {rec.name!r} is registered twice: by {owner[rec.name]} and by {impl.plugin_name}"
                    )
                found[rec.name] = rec
                owner[rec.name] = impl.plugin_name
        self._vendors = dict(sorted(found.items()))
        self._vendor_owner = owner
        return self._vendors

    def vendor(self, name: str) -> Vendor:
        """The vendor of that name; PluginError explaining why when it is not available."""
        vendors = self.vendors()
        if name in vendors:
            return vendors[name]
        why = ""
        related = [f for f in self.failures if name in f.name or name in f.distribution]
        if related:
            why = " because " + "; ".join(f.text() for f in related)
        elif self.failures:
            why = " (plugins that failed to load: " + "; ".join(f.text() for f in self.failures) + ")"
        known = ", ".join(vendors) or "none"
        raise PluginError(f"vendor {name!r} is not available{why}. Loaded vendors: {known}")

    def require_vendors(self, names: Iterable[str], *, strict: bool = False) -> dict[str, Vendor]:
        """All the named vendors, or PluginError naming each one missing. With `strict`, any
        plugin that failed to load is an error too (sync will not push with a plugin missing)."""
        if strict and self.failures:
            raise PluginError(
                "refusing to continue while a plugin failed to load: " + "; ".join(f.text() for f in self.failures)
            )
        out, missing = {}, []
        for n in sorted(set(names)):
            try:
                out[n] = self.vendor(n)
            except PluginError as e:
                missing.append(str(e))
        if missing:
            raise PluginError("\n".join(missing))
        return out

    def health_sources(self) -> dict[str, HealthSource]:
        """Every registered health source by name."""
        out: dict[str, HealthSource] = {}
        for impl in self.pm.hook.scanguard_health_sources.get_hookimpls():
            for rec in _records(impl.function(), HealthSource, impl.plugin_name, "scanguard_health_sources"):
                out.setdefault(rec.name, rec)
        return dict(sorted(out.items()))

    def report_formats(self) -> dict[str, ReportFormat]:
        """Every registered report format by name."""
        out: dict[str, ReportFormat] = {}
        for impl in self.pm.hook.scanguard_report_formats.get_hookimpls():
            for rec in _records(impl.function(), ReportFormat, impl.plugin_name, "scanguard_report_formats"):
                out.setdefault(rec.name, rec)
        return dict(sorted(out.items()))

    # -- behaviour hooks -----------------------------------------------------------------------
    def template_rewrites(self, compiled: "CompiledTemplate", workspace: "Workspace") -> list[tuple[str, TemplateRewrite]]:
        """The rewrites offered for one compiled template as (plugin, rewrite), in the order
        they apply: ascending priority, then rewrite name, then plugin name."""
        offered: list[tuple[str, TemplateRewrite]] = []
        for impl in self.pm.hook.scanguard_rewrite_template.get_hookimpls():
            result = impl.function(compiled=compiled, workspace=workspace)
            if result is None:
                continue
            if not isinstance(result, TemplateRewrite):
                raise PluginError(
                    f"plugin {impl.plugin_name} returned {type(result).__name__} from scanguard_rewrite_template; "
                    "expected a TemplateRewrite or None"
                )
            offered.append((impl.plugin_name, result))
        return sorted(offered, key=lambda pr: (pr[1].priority, pr[1].name, pr[0]))

    def pre_scan_checks(self, request: CheckRequest, workspace: "Workspace") -> list[CheckResult]:
        """Every pre-scan check result of every plugin. A plugin that raises vetoes (an error
        result naming it): fail closed."""
        results: list[CheckResult] = []
        for impl in self.pm.hook.scanguard_pre_scan_checks.get_hookimpls():
            try:
                got = impl.function(request=request, workspace=workspace)
                for r in got or ():
                    if not isinstance(r, CheckResult):
                        raise TypeError(f"returned {type(r).__name__}, expected CheckResult")
                    results.append(r)
            except Exception as e:
                results.append(
                    CheckResult(
                        severity="error", code="check-failed", source=impl.plugin_name,
                        message=f"pre-scan check from plugin {impl.plugin_name} failed ({type(e).__name__}: {e}); "
                        "vetoing the scan (fail closed)",
                        fix="fix or remove the plugin, then check again",
                    )
                )
        return results

    def correlate(self, outage: Outage, activity: Sequence[ActivityEvent], health: Sequence[HealthEvent]) -> list[Suspect]:
        """Suspects from every correlator plugin. One that raises is logged and skipped."""
        out: list[Suspect] = []
        for impl in self.pm.hook.scanguard_correlate.get_hookimpls():
            try:
                for s in impl.function(outage=outage, activity=activity, health=health) or ():
                    if isinstance(s, Suspect):
                        out.append(s)
            except Exception as e:
                log.warning("correlator from plugin %s failed (%s: %s); skipped", impl.plugin_name, type(e).__name__, e)
        return out

    # -- introspection -------------------------------------------------------------------------
    def info(self) -> list[PluginInfo]:
        """Every loaded plugin with its distribution, version, hooks and vendors."""
        vendors = self.vendors()
        by_plugin: dict[str, list[str]] = {}
        for vname in vendors:
            by_plugin.setdefault(self._vendor_owner.get(vname, ""), []).append(vname)
        out = []
        for name, plugin in self.pm.list_name_plugin():
            dist, version, builtin = self._dists.get(name, ("", "", False))
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            out.append(PluginInfo(name, dist, version, hooks, tuple(by_plugin.get(name, ())), builtin))
        return sorted(out, key=lambda i: (not i.builtin, i.name))


def _new_pm() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _records(result: Any, kind: type, plugin: str, hook: str) -> list[Any]:
    if result is None:
        return []
    items = [result] if isinstance(result, kind) else list(result)
    for r in items:
        if not isinstance(r, kind):
            raise PluginError(f"plugin {plugin} returned {type(r).__name__} from {hook}; expected {kind.__name__}")
    return items


def load_plugins(*, entry_points: bool = True, extra: Iterable[ModuleType | object] = ()) -> PluginManager:
    """A plugin manager with the built-in plugins, the allowed entry points, and `extra`."""
    manager = PluginManager()
    manager.load_defaults()
    if entry_points:
        manager.load_entry_points()
    for i, plugin in enumerate(extra):
        manager.register(plugin, getattr(plugin, "__name__", None) or f"extra-{i}")
    return manager
