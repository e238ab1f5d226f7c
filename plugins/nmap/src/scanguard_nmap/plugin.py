"""The nmap vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

import shlex
from typing import Any

from scanguard import CompiledTemplate, ScanTemplate, Vendor, hookimpl

from .activity import parse_activity
from .argv import CHECK_KINDS, parse_argv, render_argv
from .results import parse_results


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The native document: the template name and its argument vector."""
    return {"name": ct.name, "argv": render_argv(ct)}


def parse(payload: Any) -> ScanTemplate:
    """A native document (or a bare argument vector or command line) back as a neutral template."""
    if isinstance(payload, dict):
        return parse_argv(payload["argv"], payload.get("name", "nmap"))
    return parse_argv(payload)


def serialize(payload: dict[str, Any]) -> str:
    """A shell command line, ready to run."""
    return "#!/bin/sh\n# scanguard template " + payload["name"] + "\nexec " + shlex.join(payload["argv"]) + ' "$@"\n'


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register nmap."""
    return [
        Vendor(name="nmap", title="Nmap", render=render, parse=parse, serialize=serialize, suffix=".sh",
               parse_activity=parse_activity, parse_results=parse_results,
               # "run": scanguard_nmap.run.run_scan runs real scans (the test bed and trials use it)
               capabilities=frozenset({"render", "parse", "activity", "results", "run"}), check_kinds=CHECK_KINDS),
    ]
