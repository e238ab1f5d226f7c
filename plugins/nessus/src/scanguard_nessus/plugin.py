"""The Nessus vendor record, registered through the ``scanguard`` entry-point group.

The policy model (render, parse, policy files) is the Tenable library shared with the Security
Center and Vulnerability Management plugins (scanguard_tenable_policy); this plugin adds the
Nessus REST client, nessusd.rules, and the activity and results parsers.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any, Iterator

from scanguard import ActivityEvent, CompiledTemplate, HostResult, ScanTemplate, ScannerConfig, Vendor, hookimpl
from scanguard_tenable_policy import (
    CHECK_KINDS,
    PolicyDocument,
    PolicyFileUnavailable,
    api_document,
    parse_document,
    read_policy,
    render_document,
    render_policy_file,
)

from .rules import SUPPORT as EXCLUSIONS, render_rules


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The policy document for a compiled template (the client turns it into Nessus's
    `POST /policies` body with the scanner's own template uuid and families)."""
    return render_document(ct).payload()


def document(payload: Any) -> PolicyDocument:
    """A policy document from what `parse` accepts: a rendered or read-back document, a REST API
    policy (`{"uuid", "settings", "plugins"?}`), JSON text, or a .nessus file (a Path, or XML
    bytes/text) whose Policy section is read."""
    if isinstance(payload, Path):
        with payload.open("rb") as f:
            return read_policy(f, str(payload))
    if isinstance(payload, (bytes, str)):
        data = payload.encode() if isinstance(payload, str) else payload
        if data.lstrip().startswith(b"<"):
            return read_policy(io.BytesIO(data), "policy XML")
        return document(json.loads(data))
    if PolicyDocument.is_payload(payload):
        return PolicyDocument.model_validate(payload)
    return api_document(payload)


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


def parse_results(stream: IO[bytes]) -> Iterator[HostResult]:
    """Hosts from a .nessus v2 export, streamed."""
    from .results import parse_nessus

    return parse_nessus(stream, getattr(stream, "name", "<stream>"))


NESSUS = Vendor(
    name="nessus",
    title="Tenable Nessus",
    render=render,
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
