"""The InsightVM vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

from typing import Any

from scanguard import CompiledTemplate, ScanTemplate, ScannerConfig, Vendor, hookimpl

from .activity import parse_activity
from .categories import CHECK_KINDS
from .results import parse_results
from .sites import SUPPORT as EXCLUSIONS
from .template import parse_template, render_template


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The ScanTemplate body for a compiled template (the managed marker is added by the client)."""
    return render_template(ct)


def parse(payload: Any) -> ScanTemplate:
    """A ScanTemplate document (as rendered, or as a console returns it) as a neutral template."""
    return parse_template(payload)


def client(config: ScannerConfig):
    """A client for one InsightVM console (credentials resolved from the environment or keyring)."""
    from .client import InsightVMClient  # requests is imported only when a console is used

    return InsightVMClient(config)


VENDOR = Vendor(
    name="insightvm",
    title="Rapid7 InsightVM",
    render=render,
    parse=parse,
    client=client,
    parse_activity=parse_activity,
    parse_results=parse_results,
    exclusions=EXCLUSIONS,
    capabilities=frozenset({"render", "parse", "client", "activity", "results", "exclusions"}),
    check_kinds=CHECK_KINDS,
    # the simple XML export is recognised as InsightVM's only to be refused with the reason
    result_roots=frozenset({"NexposeReport", "NeXposeSimpleXML"}),
)
"""The InsightVM vendor record."""


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register InsightVM."""
    return [VENDOR]
