"""Built-in report formats: scanguard's own JSON and DefectDojo's Generic Findings Import."""

from __future__ import annotations

import json
from typing import IO, Iterable

from ..hookspecs import hookimpl
from ..model.events import Finding
from ..plugin.records import ReportFormat

SCHEMA_VERSION = 1


def write_json(findings: Iterable[Finding], stream: IO[str]) -> None:
    """{"schema_version": 1, "findings": [...]}."""
    doc = {"schema_version": SCHEMA_VERSION, "findings": [f.model_dump(mode="json") for f in findings]}
    json.dump(doc, stream, indent=2)
    stream.write("\n")


_DOJO_SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}


def write_defectdojo(findings: Iterable[Finding], stream: IO[str]) -> None:
    """DefectDojo "Generic Findings Import" JSON: {"findings": [{title, severity, description, ...}]}."""
    out = []
    for f in findings:
        desc = f.description
        if f.evidence:
            desc += "\n\nEvidence:\n" + "\n".join(f"- {e}" for e in f.evidence)
        item = {
            "title": f.title,
            "severity": _DOJO_SEVERITY[f.severity],
            "description": desc,
            "active": True,
            "verified": False,
            "static_finding": False,
            "dynamic_finding": True,
        }
        if f.proposal is not None:
            item["mitigation"] = f.proposal.reason
        if f.host:
            item["endpoints"] = [{"host": f.host}]
        out.append(item)
    json.dump({"findings": out}, stream, indent=2)
    stream.write("\n")


@hookimpl
def scanguard_report_formats() -> list[ReportFormat]:
    """scanguard's JSON and DefectDojo's Generic Findings Import."""
    return [
        ReportFormat(name="json", write=write_json, description="scanguard findings JSON (schema_version 1)"),
        ReportFormat(name="defectdojo", write=write_defectdojo,
                     description="DefectDojo Generic Findings Import JSON"),
    ]
