"""The vendor record of a Tenable product scanguard manages through its API and whose policies are
the Tenable model as they are (Security Center, Tenable VM): the document rendered and read back,
the .nessus results parser, scheduled exclusions kept as objects on the scanner."""

from __future__ import annotations

from typing import Any, Callable

from scanguard import ScannerConfig, ScanTemplate, Vendor

from .exclusion import EXCLUSIONS
from .render import CHECK_KINDS, render_payload
from .results import parse_results


def tenable_vendor(*, name: str, title: str, parse: Callable[[Any], ScanTemplate],
                   client: Callable[[ScannerConfig], Any]) -> Vendor:
    """The record for one such product: its own name, title, parse and client; the rest shared.
    Its exports are .nessus files nothing tells from Nessus's: `find-misplaced` reads them as
    Nessus's (the same parser), so they claim no root element; `audit` takes --vendor."""
    return Vendor(
        name=name, title=title, render=render_payload, parse=parse, suffix=".json", client=client,
        parse_results=parse_results, exclusions=EXCLUSIONS,
        capabilities=frozenset({"render", "parse", "client", "results", "exclusions"}),
        check_kinds=CHECK_KINDS, result_roots=frozenset(),
    )
