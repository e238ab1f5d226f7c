"""The nmap vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Callable, Sequence

from scanguard import CompiledTemplate, ScanRun, ScanTemplate, Suspect, UsageError, Vendor, hookimpl

from .activity import parse_activity
from .argv import CHECK_KINDS, parse_argv, render_argv
from .results import parse_results
from .targets import parse_targets


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


def run(compiled: CompiledTemplate, targets: Sequence[str], *, out_dir: Path, name: str = "nmap",
        stop_when: Callable[[], bool] | None = None, timeout_s: float | None = None,
        allow_non_loopback: bool = False, replay: Suspect | None = None) -> ScanRun:
    """Run real nmap for a compiled template (see :func:`scanguard_nmap.run.run_scan`); with
    `replay`, only the probe, script or connect that suspect names, on its port."""
    from .run import run_scan  # only when scanning: rendering never needs the pty machinery

    if replay is not None and replay.port is not None and not compiled.template.ports.contains(
            replay.port, replay.protocol if replay.protocol in ("tcp", "udp") else "tcp"):
        raise UsageError(f"refusing to replay on {replay.port}: the template does not scan that port")
    return run_scan(compiled, list(targets), out_dir=out_dir, name=name, stop_when=stop_when, timeout_s=timeout_s,
                    allow_non_loopback=allow_non_loopback, replay=replay)


@hookimpl
def scanguard_vendors() -> list[Vendor]:
    """Register nmap."""
    return [
        Vendor(name="nmap", title="Nmap", render=render, parse=parse, serialize=serialize, suffix=".sh",
               parse_activity=parse_activity, parse_results=parse_results, run=run, parse_targets=parse_targets,
               capabilities=frozenset({"render", "parse", "activity", "results", "run", "replay", "targets"}),
               check_kinds=CHECK_KINDS, result_roots=frozenset({"nmaprun"})),
    ]
