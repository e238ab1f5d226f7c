"""The Tenable Vulnerability Management vendor record, registered through the ``scanguard``
entry-point group.

Tenable VM shares Nessus's policy model: render and parse are the Tenable library's
(scanguard_tenable_policy), and so are the policies client this plugin's client builds on and the
.nessus results parser. What is Tenable VM's own: its exclusions, where scanguard keeps never-scan
devices blocked always and devices with scan windows blocked outside them.
"""

from __future__ import annotations

from typing import IO, Any, Iterator

from scanguard import CompiledTemplate, HostResult, ScanTemplate, ScannerConfig, Vendor, hookimpl
from scanguard_tenable_policy import CHECK_KINDS, EXCLUSIONS, parse_document, parse_nessus, read_document, render_document


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The policy document for a compiled template (the client turns it into `POST /policies`
    with the scanner's own template uuid and families)."""
    return render_document(ct).payload()


def parse(payload: Any) -> ScanTemplate:
    """The neutral template a Tenable VM policy amounts to, read conservatively: a document, a
    REST API policy, or the Policy section of a .nessus export (a Path or XML)."""
    return parse_document(read_document(payload))


def client(config: ScannerConfig):
    """A client for Tenable VM at `config.url` (credentials access_key and secret_key)."""
    from .client import TenableIOClient

    return TenableIOClient(config)


def parse_results(stream: IO[bytes]) -> Iterator[HostResult]:
    """Hosts from a Tenable VM scan export (.nessus v2), streamed."""
    return parse_nessus(stream, getattr(stream, "name", "<stream>"))


TENABLEIO = Vendor(
    name="tenableio",
    title="Tenable Vulnerability Management",
    render=render,
    parse=parse,
    suffix=".json",
    client=client,
    parse_results=parse_results,
    exclusions=EXCLUSIONS,
    capabilities=frozenset({"render", "parse", "client", "results", "exclusions"}),
    check_kinds=CHECK_KINDS,
    # the exports are .nessus files, told apart from Nessus's by nothing in them: find-misplaced
    # reads them as Nessus's (the same parser), audit takes --vendor tenableio
    result_roots=frozenset(),
)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register Tenable Vulnerability Management."""
    return [TENABLEIO]
