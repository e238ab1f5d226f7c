"""The Nessus vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any, Iterator

from scanguard import ActivityEvent, CompiledTemplate, HostResult, ScanTemplate, ScannerConfig, Vendor, hookimpl

from .policy import CHECK_KINDS, parse_policy, render_policy
from .policy_xml import read_policy, render_policy_xml
from .rules import SUPPORT as EXCLUSIONS, render_rules


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The Nessus policy document (POST /policies body) for a compiled template."""
    return render_policy(ct)


def parse(payload: Any) -> ScanTemplate:
    """A neutral template from a policy document (dict or JSON text), or from the Policy section
    of a .nessus file (a Path, or XML bytes/text)."""
    if isinstance(payload, Path):
        with payload.open("rb") as f:
            return parse_policy(read_policy(f, str(payload)))
    if isinstance(payload, (bytes, str)):
        data = payload.encode() if isinstance(payload, str) else payload
        if data.lstrip().startswith(b"<"):
            return parse_policy(read_policy(io.BytesIO(data), "policy XML"))
        return parse_policy(json.loads(data))
    return parse_policy(payload)


def artifacts(ct: CompiledTemplate) -> dict[str, str]:
    """For Nessus Professional: an importable policy file, and the nessusd.rules lines of the
    devices this template reaches or is aimed away from (exactly their addresses; the whole
    plan's file is the vendor's `exclusions`)."""
    out = {f"{ct.name}.policy.nessus": render_policy_xml(ct)}
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
