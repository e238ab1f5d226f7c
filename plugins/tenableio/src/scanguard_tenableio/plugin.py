"""The Tenable Vulnerability Management vendor record, registered through the ``scanguard``
entry-point group.

Tenable VM shares Nessus's policy model: render and parse are the Tenable library's
(scanguard_tenable_policy), and so are the policies client this plugin's client builds on, the
.nessus results parser and the exclusion documents. What is Tenable VM's own: its exclusions API,
where scanguard keeps never-scan devices blocked always and devices with scan windows blocked
outside them.
"""

from __future__ import annotations

from typing import Any

from scanguard import ScanTemplate, ScannerConfig, Vendor, hookimpl
from scanguard_tenable_policy import parse_document, read_document, tenable_vendor


def parse(payload: Any) -> ScanTemplate:
    """The neutral template a Tenable VM policy amounts to, read conservatively: a document, a
    REST API policy, or the Policy section of a .nessus export (a Path or XML)."""
    return parse_document(read_document(payload))


def client(config: ScannerConfig):
    """A client for Tenable VM at `config.url` (credentials access_key and secret_key)."""
    from .client import TenableIOClient

    return TenableIOClient(config)


TENABLEIO = tenable_vendor(name="tenableio", title="Tenable Vulnerability Management", parse=parse, client=client)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register Tenable Vulnerability Management."""
    return [TENABLEIO]
