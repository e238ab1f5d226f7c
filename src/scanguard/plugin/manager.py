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
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import pluggy

from .. import hookspecs
from ..errors import PluginError, UsageError
from ..suggest import unknown
from ..model.events import ActivityEvent, CheckRequest, CheckResult, HealthEvent, Outage, Suspect
from .records import FakeScanner, HealthSource, ReportFormat, TemplateRewrite, Vendor

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
    _record_owner: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Failures of plugins that fail open (correlators), for the command to show."""

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

    # -- calling -------------------------------------------------------------------------------------
    def _each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Callable[[], list[Any]]]]:
        """(plugin name, call) for every implementation of `hook`, so that each plugin's answer
        and failure is its own. Each call goes through pluggy, on a hook caller that holds only
        that plugin, so pluggy's calling rules hold (an implementation may take any subset of
        the hook's arguments). A call returns the list of that plugin's non-None results."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        for impl in impls:
            yield impl.plugin_name, self._one(hook, impl, impls, kwargs)

    def _one(self, hook: str, impl: Any, impls: list[Any], kwargs: dict[str, Any]) -> Callable[[], list[Any]]:
        if all(_hashable(i.plugin) for i in impls):
            caller = self.pm.subset_hook_caller(hook, remove_plugins=[i.plugin for i in impls if i is not impl])
            return lambda: list(caller(**kwargs))

        # pluggy's subset caller keeps plugins in a set, which an unhashable plugin object (a
        # SimpleNamespace) cannot join: pluggy's rule is applied here, only the arguments it names
        def direct() -> list[Any]:
            result = impl.function(*(kwargs[a] for a in impl.argnames))
            return [] if result is None else [result]

        return direct

    def _registration_failed(self, plugin: str, hook: str, e: Exception) -> None:
        """A registration hook that raised or returned something invalid: the plugin counts as
        failed to load, named with its distribution (and sync refuses to push)."""
        dist, version, _ = self._dists.get(plugin, ("unknown", "?", False))
        failure = LoadFailure(plugin, dist or "unknown", version or "?", f"{hook} raised {type(e).__name__}: {e}")
        if failure not in self.failures:
            self.failures.append(failure)
            log.warning("%s; skipped", failure.text())

    def _registered(self, hook: str, kind: type) -> list[tuple[str, Any]]:
        """Every record of every implementation of a registration hook, as (plugin, record)."""
        out: list[tuple[str, Any]] = []
        for plugin, call in self._each(hook):
            try:
                recs = [r for result in call() for r in _records(result, kind, plugin, hook)]
            except Exception as e:
                self._registration_failed(plugin, hook, e)
                continue
            out.extend((plugin, r) for r in recs)
        return out

    def _unique(self, hook: str, kind: type, key: str, what: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The records of a registration hook by their `key`, sorted, and the plugin of each;
        PluginError naming both plugins when two register the same key."""
        found: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for plugin, rec in self._registered(hook, kind):
            name = getattr(rec, key)
            if name in found:
                raise PluginError(f"{what} {name!r} is registered twice: by {owner[name]} and by {plugin}")
            found[name] = rec
            owner[name] = plugin
        return dict(sorted(found.items())), owner

    # -- registration hooks ----------------------------------------------------------------------
    def vendors(self) -> dict[str, Vendor]:
        """Every registered vendor by name. Raises PluginError when two plugins register the
        same name or a plugin registers something that is not a Vendor."""
        if self._vendors is not None:
            return self._vendors
        self._vendors, self._vendor_owner = self._unique("scanguard_vendors", Vendor, "name", "vendor")
        return self._vendors

    def vendor(self, name: str) -> Vendor:
        """The vendor of that name; PluginError explaining why when it is not available."""
        vendors = self.vendors()
        if name in vendors:
            return vendors[name]
        related = [f for f in self.failures if name in f.name or name in f.distribution]
        if related:  # its plugin is installed but broken: a runtime failure
            why = "; ".join(f.text() for f in related)
            raise PluginError(f"vendor {name!r} is not available because {why}. Loaded vendors: "
                              f"{', '.join(vendors) or 'none'}")
        # a name no plugin provides: invalid input (a typo, or a plugin that is not installed)
        why = (" (plugins that failed to load: " + "; ".join(f.text() for f in self.failures) + ")"
               if self.failures else "")
        raise UsageError(unknown("vendor", name, vendors, listed="loaded vendors") + why
                         + "; `scanguard plugins` lists what is installed")

    def require_vendors(self, names: Iterable[str], *, strict: bool = False) -> dict[str, Vendor]:
        """All the named vendors, or an error naming each one missing (PluginError when a plugin
        that failed to load may provide one, else UsageError: no plugin does). With `strict`, any
        plugin that failed to load is an error too (sync will not push with a plugin missing)."""
        if strict and self.failures:
            raise PluginError(
                "refusing to continue while a plugin failed to load: " + "; ".join(f.text() for f in self.failures)
            )
        out, missing, broken = {}, [], False
        for n in sorted(set(names)):
            try:
                out[n] = self.vendor(n)
            except PluginError as e:  # its plugin failed to load
                missing.append(str(e))
                broken = True
            except UsageError as e:  # no plugin provides it
                missing.append(str(e))
        if missing:
            raise (PluginError if broken else UsageError)("\n".join(missing))
        return out

    def health_sources(self) -> dict[str, HealthSource]:
        """Every registered health source by name (a plugin whose registration fails is named
        among the load failures and skipped)."""
        out: dict[str, HealthSource] = {}
        for plugin, rec in self._registered("scanguard_health_sources", HealthSource):
            if rec.name not in out:
                out[rec.name] = rec
                self._record_owner[("health", rec.name)] = plugin
        return dict(sorted(out.items()))

    def fake_scanners(self) -> dict[str, FakeScanner]:
        """Every registered fake scanner by the vendor it fakes. PluginError when two plugins
        register a fake of the same vendor."""
        return self._unique("scanguard_fake_scanners", FakeScanner, "vendor", "fake scanner")[0]

    def report_formats(self) -> dict[str, ReportFormat]:
        """Every registered report format by name (a plugin whose registration fails is named
        among the load failures and skipped)."""
        out: dict[str, ReportFormat] = {}
        for plugin, rec in self._registered("scanguard_report_formats", ReportFormat):
            if rec.name not in out:
                out[rec.name] = rec
                self._record_owner[("format", rec.name)] = plugin
        return dict(sorted(out.items()))

    def write_report(self, name: str, findings: Sequence[Any], stream: IO[str]) -> None:
        """Write findings in a registered format. UsageError for an unknown format; PluginError
        naming the plugin when its writer fails."""
        formats = self.report_formats()
        if name not in formats:
            raise UsageError(unknown("report format", name, formats))
        try:
            formats[name].write(findings, stream)
        except Exception as e:
            who = self._record_owner.get(("format", name), "unknown")
            raise PluginError(f"report format {name!r} from plugin {who} failed: {type(e).__name__}: {e}") from None

    def read_health(self, name: str, spec: str) -> list[HealthEvent]:
        """The events of a registered health source. UsageError for an unknown source;
        PluginError naming the plugin when it fails."""
        sources = self.health_sources()
        if name not in sources:
            raise UsageError(unknown("health source", name, sources))
        try:
            events = list(sources[name].read(spec))
        except Exception as e:
            who = self._record_owner.get(("health", name), "unknown")
            raise PluginError(f"health source {name!r} from plugin {who} failed on {spec!r}: "
                              f"{type(e).__name__}: {e}") from None
        for ev in events:
            if not isinstance(ev, HealthEvent):
                who = self._record_owner.get(("health", name), "unknown")
                raise PluginError(f"health source {name!r} from plugin {who} returned {type(ev).__name__}, "
                                  "expected HealthEvent")
        return events

    # -- behaviour hooks -----------------------------------------------------------------------
    def template_rewrites(self, compiled: "CompiledTemplate", workspace: "Workspace") -> list[tuple[str, TemplateRewrite]]:
        """The rewrites offered for one compiled template as (plugin, rewrite), in the order
        they apply: ascending priority, then rewrite name, then plugin name. A plugin whose hook
        raises or answers something else stops compile with a PluginError naming it (fail
        closed: a template its rewrite was meant to change is not pushed unchanged)."""
        offered: list[tuple[str, TemplateRewrite]] = []
        for plugin, call in self._each("scanguard_rewrite_template", compiled=compiled, workspace=workspace):
            try:
                results = call()
            except Exception as e:
                raise PluginError(f"scanguard_rewrite_template of plugin {plugin} failed on template {compiled.name} "
                                  f"({type(e).__name__}: {e}); nothing is rendered or pushed (fail closed)") from None
            for result in results:
                if not isinstance(result, TemplateRewrite):
                    raise PluginError(
                        f"plugin {plugin} returned {type(result).__name__} from scanguard_rewrite_template; "
                        "expected a TemplateRewrite or None"
                    )
                offered.append((plugin, result))
        return sorted(offered, key=lambda pr: (pr[1].priority, pr[1].name, pr[0]))

    def pre_scan_checks(self, request: CheckRequest, workspace: "Workspace") -> list[CheckResult]:
        """Every pre-scan check result of every plugin. A plugin that raises vetoes (an error
        result naming it): fail closed."""
        results: list[CheckResult] = []
        for plugin, call in self._each("scanguard_pre_scan_checks", request=request, workspace=workspace):
            try:
                got = [r for answer in call() for r in (answer or ())]
                for r in got:
                    if not isinstance(r, CheckResult):
                        raise TypeError(f"returned {type(r).__name__}, expected CheckResult")
                results.extend(got)
            except Exception as e:
                results.append(
                    CheckResult(
                        severity="error", code="check-failed", source=plugin,
                        message=f"pre-scan check from plugin {plugin} failed ({type(e).__name__}: {e}); "
                        "vetoing the scan (fail closed)",
                        fix="fix or remove the plugin, then check again",
                    )
                )
        return results

    def correlate(self, outage: Outage, activity: Sequence[ActivityEvent], health: Sequence[HealthEvent]) -> list[Suspect]:
        """Suspects from every correlator plugin. One that raises (or answers something that is
        not a Suspect) is skipped and named in `warnings` (fail open, loudly)."""
        out: list[Suspect] = []
        for plugin, call in self._each("scanguard_correlate", outage=outage, activity=activity, health=health):
            try:
                got = [s for answer in call() for s in (answer or ())]
                bad = [type(s).__name__ for s in got if not isinstance(s, Suspect)]
                if bad:
                    raise TypeError(f"returned {bad[0]}, expected Suspect")
                out.extend(got)
            except Exception as e:
                text = f"correlator from plugin {plugin} failed ({type(e).__name__}: {e}); skipped"
                log.warning("%s", text)
                if text not in self.warnings:
                    self.warnings.append(text)
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


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


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
