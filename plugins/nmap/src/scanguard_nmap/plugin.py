"""The nmap vendor record, registered through the ``scanguard`` entry-point group."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Callable, Sequence

from scanguard import CompiledTemplate, ScanRun, ScanTemplate, Suspect, UsageError, Vendor, hookimpl

from .activity import parse_activity
from .argv import parse_argv, render_argvs
from .command import commands_of
from .export import read_recorded_command
from .mapping import CHECK_KINDS
from .results import parse_results
from .targets import parse_targets


def render(ct: CompiledTemplate) -> dict[str, Any]:
    """The native document: the template name and its argument vector ("argv"), plus "argv6"
    when the targets also hold IPv6 addresses (nmap scans one address family per run)."""
    argvs = render_argvs(ct)
    doc: dict[str, Any] = {"name": ct.name, "argv": argvs[0]}
    if len(argvs) > 1:
        doc["argv6"] = argvs[1]
    return doc


def parse(payload: Any) -> ScanTemplate:
    """A neutral template from a native document, an argument vector, a command line or a script
    of command lines, or an nmap XML export (a Path: its recorded command line and ports). Runs
    of one document (IPv4 and IPv6) must scan alike."""
    if isinstance(payload, Path):
        with payload.open("rb") as f:
            head = f.read(4096)
        if head.lstrip().startswith(b"<"):
            return read_recorded_command(payload)
        payload = payload.read_text(encoding="utf-8", errors="replace")
    name = str(payload.get("name") or "nmap") if isinstance(payload, dict) else "nmap"
    templates = [parse_argv(args, name) for args in commands_of(payload)]
    for other in templates[1:]:
        if other != templates[0]:
            raise ValueError(f"{name}: its nmap commands scan differently; judge each command on its own")
    return templates[0]


def serialize(payload: dict[str, Any]) -> str:
    """A shell script, ready to run (extra arguments go to every nmap run)."""
    lines = ["#!/bin/sh", "# scanguard template " + payload["name"]]
    if "argv6" in payload:
        lines += ["# nmap scans one address family per run: IPv4 first, then IPv6", "set -e",
                  shlex.join(payload["argv"]) + ' "$@"', "exec " + shlex.join(payload["argv6"]) + ' "$@"']
    else:
        lines.append("exec " + shlex.join(payload["argv"]) + ' "$@"')
    return "\n".join(lines) + "\n"


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
