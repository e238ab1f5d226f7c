"""Every hook a scanguard plugin can implement. All names start with ``scanguard_``.

Rules (CONTRIBUTING.md has the long form):

- Registration hooks return typed, frozen records (never dicts); the core validates them.
- Hooks are only ever added; a changed hook is deprecated with pluggy's ``warn_on_impl_args``.
- The core never depends on plugin load order: where order matters, records carry a priority.
- The core calls hooks only through :class:`scanguard.plugin.manager.PluginManager`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import pluggy

if TYPE_CHECKING:
    from .model.events import ActivityEvent, CheckRequest, CheckResult, HealthEvent, Outage, Suspect
    from .model.plan import CompiledTemplate
    from .plugin.records import FakeScanner, HealthSource, ReportFormat, TemplateRewrite, Vendor
    from .workspace import Workspace

PROJECT = "scanguard"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def scanguard_vendors() -> Iterable[Vendor]:
    """Register scanner vendor adapters.

    Called once when the plugin manager loads. Every implementation is called and every record
    collected; two records with the same ``name`` are an error that names both plugins.

    :return: the :class:`~scanguard.plugin.records.Vendor` records this plugin provides (an
        empty iterable or ``None`` for none).

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_health_sources() -> Iterable[HealthSource]:
    """Register device-health sources (live monitors, CSV importers, a test bed).

    Every implementation is called and every record collected.

    :return: :class:`~scanguard.plugin.records.HealthSource` records, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_report_formats() -> Iterable[ReportFormat]:
    """Register formats in which findings can be written (``--format NAME``).

    Every implementation is called and every record collected.

    :return: :class:`~scanguard.plugin.records.ReportFormat` records, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_rewrite_template(compiled: CompiledTemplate, workspace: Workspace) -> TemplateRewrite | None:
    """Offer a rewrite of one compiled template (for example a site-wide rate policy).

    Called once per compiled template after compile, for every implementation. The core sorts
    the offered rewrites by ``priority`` then ``name`` (never by load order), applies each to the
    result of the one before, and re-verifies after each: a rewrite that makes the template less
    safe than it was, or that breaks the template's constraints, is rejected with an error that
    names it.

    :param compiled: the template as compile produced it (before any rewrite).
    :param workspace: the loaded workspace.
    :return: a :class:`~scanguard.plugin.records.TemplateRewrite`, or ``None`` to leave the
        template alone.

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_pre_scan_checks(request: CheckRequest, workspace: Workspace) -> Iterable[CheckResult]:
    """Add checks that run before a scan starts (``scanguard check``).

    Every implementation is called and every result collected: any result of severity
    ``error`` vetoes the scan. An implementation that raises also vetoes it (fail closed), with
    a result that names the plugin.

    :param request: scanner, template, targets and time of the scan about to start.
    :param workspace: the loaded workspace.
    :return: :class:`~scanguard.model.CheckResult` records (empty or ``None``: nothing to say).

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_correlate(
    outage: Outage, activity: Sequence[ActivityEvent], health: Sequence[HealthEvent]
) -> Iterable[Suspect]:
    """Add suspects for one outage to those of the core correlator.

    Every implementation is called and every suspect collected. An implementation that raises
    is logged, named and skipped (fail open: correlation is advice, not a safety gate).

    :param outage: the host and the time it went down.
    :param activity: the scanner activity on that host before the outage, oldest first.
    :param health: the host's health timeline.
    :return: :class:`~scanguard.model.Suspect` records, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def scanguard_fake_scanners() -> Iterable[FakeScanner]:
    """Register fake scanners: a vendor's API served on loopback, stateful, in the real product's
    shapes, so that a newcomer can watch `diff` and `sync` work (`scanguard testbed scanner
    start`) and tests can reach a scanner.

    Every implementation is called and every record collected; two records for the same
    ``vendor`` are an error that names both plugins.

    :return: :class:`~scanguard.plugin.records.FakeScanner` records, or ``None``.

    .. versionadded:: 0.1
    """
