"""The Nessus vendor record, registered through the ``scanguard`` entry-point group.

The policy model (render, parse, policy files) is the Tenable library shared with the Security
Center and Vulnerability Management plugins (scanguard_tenable_policy); this plugin adds the
Nessus REST client (on the library's policies client), nessusd.rules and the activity parser; results
are read by the library's .nessus parser.
"""

from __future__ import annotations

from typing import IO, Any, Iterator

from scanguard import ActivityEvent, CompiledTemplate, ScanTemplate, ScannerConfig, Vendor, hookimpl
from scanguard_tenable_policy import (
    CHECK_KINDS,
    PolicyFileUnavailable,
    parse_document,
    parse_results,
    read_document as document,
    render_document,
    render_payload,
    render_policy_file,
)

from .rules import SUPPORT as EXCLUSIONS, render_rules


def parse(payload: Any) -> ScanTemplate:
    """The neutral template a Nessus policy amounts to, read conservatively (see `document`)."""
    return parse_document(document(payload))


def artifacts(ct: CompiledTemplate) -> dict[str, str]:
    """For Nessus Professional: an importable policy file (unless the template excludes individual
    plugins, whose families only a scanner knows), and the nessusd.rules lines of the devices this
    template reaches or is aimed away from (exactly their addresses; the whole plan's file is the
    vendor's `exclusions`)."""
    out: dict[str, str] = {}
    try:
        out[f"{ct.name}.policy.nessus"] = render_policy_file(render_document(ct))
    except PolicyFileUnavailable as e:
        out[f"{ct.name}.policy.nessus.txt"] = f"No importable policy file for {ct.name}: {e}\n"
    rules = render_rules(ct.exclusions).get("nessusd.rules")
    if rules:
        out[f"{ct.name}.nessusd.rules"] = rules
    return out


def client(config: ScannerConfig):
    """A client for the Nessus at `config.url` (credentials access_key and secret_key)."""
    from .client import NessusClient

    return NessusClient(config)


def parse_activity(stream: IO[str]) -> Iterator[ActivityEvent]:
    """Events from nessusd.messages written with log_whole_attack."""
    from .activity import parse_messages

    return parse_messages(stream)


NESSUS = Vendor(
    name="nessus",
    title="Tenable Nessus",
    render=render_payload,
    parse=parse,
    suffix=".json",
    artifacts=artifacts,
    client=client,
    parse_activity=parse_activity,
    parse_results=parse_results,
    exclusions=EXCLUSIONS,
    capabilities=frozenset({"render", "parse", "client", "activity", "results", "artifacts", "exclusions"}),
    check_kinds=CHECK_KINDS,
    result_roots=frozenset({"NessusClientData_v2"}),
)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register Nessus."""
    return [NESSUS]
