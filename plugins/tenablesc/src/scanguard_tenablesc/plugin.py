"""The Tenable Security Center vendor record, registered through the ``scanguard`` entry-point
group.

Security Center keeps Nessus's policy model: render and parse are the Tenable library's
(scanguard_tenable_policy), with its Security Center form of preferences and families, and so is
the .nessus results parser. What is Security Center's own: its REST API inside an envelope, and
freeze windows, where scanguard keeps never-scan devices blocked always and devices with scan
windows blocked outside them.
"""

from __future__ import annotations

from typing import Any, Mapping

from scanguard import ScanTemplate, ScannerConfig, Vendor, hookimpl
from scanguard_tenable_policy import PolicyDocument, live_document, parse_document, read_document, tenable_vendor
from scanguard_tenable_policy.securitycenter import template_of


def _sc_policy(payload: Any) -> Mapping[str, Any] | None:
    """A Security Center policy (`GET /rest/policy/{id}`, in its envelope or not), or None."""
    if isinstance(payload, Mapping) and isinstance(payload.get("response"), Mapping) and "error_code" in payload:
        payload = payload["response"]
    if isinstance(payload, Mapping) and isinstance(payload.get("preferences"), Mapping):
        return payload
    return None


def document(payload: Any) -> PolicyDocument:
    """A policy document from a rendered or read-back document, a Security Center policy as the
    REST API shows it, or a .nessus file (a Path or XML) whose Policy section is read. A REST
    policy names its families by id only: without the scanner's catalog every family counts as
    enabled, and every port scanner as running (the export says which run)."""
    sc = _sc_policy(payload)
    if sc is None:
        return read_document(payload)
    settings = {**{str(k): v for k, v in sc["preferences"].items()}, "name": sc.get("name", ""),
                "description": sc.get("description", "")}
    template = sc.get("policyTemplate") if isinstance(sc.get("policyTemplate"), Mapping) else {}
    return live_document(template=template_of(template.get("name")), settings=settings, families=None)


def parse(payload: Any) -> ScanTemplate:
    """The neutral template a Security Center policy amounts to, read conservatively."""
    return parse_document(document(payload))


def client(config: ScannerConfig):
    """A client for the Security Center at `config.url` (credentials access_key and secret_key)."""
    from .client import SecurityCenterClient

    return SecurityCenterClient(config)


TENABLESC = tenable_vendor(name="tenablesc", title="Tenable Security Center", parse=parse, client=client)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register Tenable Security Center."""
    return [TENABLESC]
