"""The GVM vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanguard import ScannerConfig, Vendor, hookimpl

from .activity import parse_activity
from .commands import serialize
from .document import parse, parse_targets, render
from .results import parse_results
from .vocabulary import CHECK_KINDS

if TYPE_CHECKING:
    from .client import GvmClient


def client(config: ScannerConfig) -> GvmClient:
    """The client of one gvmd (TLS or Unix socket, see scanguard_gvm.connection)."""
    # python-gvm pulls in paramiko and cryptography (a third of a second): only commands that
    # talk to a gvmd pay for it, never validate, render or check
    from .client import GvmClient

    return GvmClient(config)


VENDOR = Vendor(
    name="gvm", title="Greenbone (GVM / OpenVAS)", render=render, parse=parse, serialize=serialize, suffix=".gmp.xml",
    client=client, parse_activity=parse_activity, parse_results=parse_results, parse_targets=parse_targets,
    capabilities=frozenset({"render", "parse", "client", "activity", "results", "targets"}), check_kinds=CHECK_KINDS,
    result_roots=frozenset({"report", "get_reports_response"}),
)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register GVM."""
    return [VENDOR]
