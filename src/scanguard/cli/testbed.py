"""`scanguard testbed`: run virtual fragile devices on loopback addresses, list the shipped
personalities, check personality files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..testbed import Personality, PersonalityError, load_personality, run_device, shipped_personalities
from .common import JsonOpt
from .fake_scanners import register as register_scanners
from .output import EXIT_FAILURE, EXIT_INVALID, emit_json, fail, info, out, safe


def list_command(json_: JsonOpt = False) -> None:
    """List the shipped personalities: ports, fragility, recovery and the advisories they cite."""
    try:
        found = shipped_personalities()
    except PersonalityError as e:
        fail(str(e), EXIT_INVALID)
    if json_:
        emit_json({"personalities": [p.model_dump(mode="json") for p in found.values()]})
        return
    table = Table(title="test-bed personalities")
    for col in ("id", "device", "ports", "dies on", "recovery", "evidence"):
        table.add_column(col, overflow="fold")
    for p in found.values():
        ports = ", ".join([f"{x}/tcp" for x in p.tcp_ports] + [f"{x}/udp" for x in p.udp_ports])
        rules = "; ".join(_rule_text(r) for r in p.fragility) or "-"
        recovery = p.recovery.mode + (f" after {p.recovery.delay_s:g}s" if p.recovery.mode == "reboot" else "")
        table.add_row(safe(p.id), safe(f"{p.vendor} {p.model}".strip()), ports, safe(rules), recovery,
                      safe(", ".join(p.evidence)))
    out.print(table)


def _rule_text(rule: object) -> str:
    kind = getattr(rule, "kind")
    if kind == "connect":
        return f"connect {rule.port}/{rule.protocol}"  # type: ignore[attr-defined]
    if kind == "payload":
        return f"payload /{rule.pattern}/ on {rule.port}/{rule.protocol}"  # type: ignore[attr-defined]
    if kind == "rate":
        return f"{rule.connections} probes in {rule.window_s:g}s"  # type: ignore[attr-defined]
    return f"probe {rule.count}"  # type: ignore[attr-defined]


def personality_or_exit(name_or_path: str, reboot_delay: float | None = None) -> Personality:
    """A shipped personality or a file, its reboot delay overridden; exit 2 naming the file and
    line when it is invalid."""
    try:
        p = load_personality(name_or_path)
        return p.with_recovery(delay_s=reboot_delay) if reboot_delay is not None else p
    except (PersonalityError, ValueError) as e:
        fail(str(e), EXIT_INVALID)


def check_command(
    files: Annotated[list[Path], typer.Argument(help="Personality YAML files (or shipped ids) to validate.")],
    json_: JsonOpt = False,
) -> None:
    """Validate personality files: every problem with its file and line (exit 2), or what each
    device offers and what kills it (exit 0). See docs/testbed.md for the format."""
    found, problems = [], []
    for f in files:
        try:
            found.append(load_personality(f))
        except PersonalityError as e:
            problems.append(str(e))
    if json_:
        emit_json({"command": "testbed check", "status": "invalid" if problems else "ok",
                   "exit_code": EXIT_INVALID if problems else 0,
                   **({"error": f"{len(problems)} personality file(s) invalid"} if problems else {}),
                   "valid": [p.id for p in found], "problems": problems})
    else:
        for p in found:
            out.print(f"[green]ok[/] {safe(p.id)}: tcp {','.join(map(str, p.tcp_ports)) or '-'}, "
                      f"udp {','.join(map(str, p.udp_ports)) or '-'}; dies on "
                      f"{safe('; '.join(_rule_text(r) for r in p.fragility) or 'nothing')}; recovery {p.recovery.mode}")
        for text in problems:
            for line in text.splitlines():
                out.print(f"[red]error[/] {safe(line)}")
    if problems:
        raise typer.Exit(EXIT_INVALID)


def run_command(
    personality: Annotated[str, typer.Argument(help="A shipped personality id (see `testbed list`) or a YAML file.")],
    host: Annotated[Optional[str], typer.Option("--host", help="Loopback address to listen on (default: a free 127.0.0.x).")] = None,
    control_port: Annotated[int, typer.Option("--control-port", help="Port of the control interface on 127.0.0.1 (0: any free port).")] = 0,
    reboot_delay: Annotated[Optional[float], typer.Option("--reboot-delay", help="Override the reboot delay, in seconds.")] = None,
    duration: Annotated[Optional[float], typer.Option("--duration", help="Stop after this many seconds (default: run until Ctrl-C).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Run one virtual device until Ctrl-C; prints its address and control interface."""
    if host is not None and not host.startswith("127."):
        fail(f"--host {host}: the test bed only listens on loopback addresses (127.0.0.0/8)", EXIT_INVALID)
    p = personality_or_exit(personality, reboot_delay)
    try:
        ctx = run_device(p, host, control_port=control_port)
        dev = ctx.__enter__()
    except OSError as e:
        fail(f"cannot start {p.id} on {host or 'a free 127.0.0.x address'}: {e}", EXIT_FAILURE)
    try:
        if json_:
            emit_json({"device": p.id, "address": dev.address, "tcp_ports": list(dev.ports),
                       "udp_ports": list(dev.udp_ports), "heartbeat": dev.heartbeat_port,
                       "control_url": dev.control().url})
        else:
            out.print(f"{safe(p.id)} {dev.address} tcp {','.join(map(str, dev.ports)) or '-'} "
                      f"udp {','.join(map(str, dev.udp_ports)) or '-'} control {dev.control().url}")
        info(f"[green]up[/]: {safe(p.name)} on {dev.address}; heartbeat tcp/{dev.heartbeat_port}; "
             f"GET {dev.control().url}status, POST {dev.control().url}reset; Ctrl-C to stop")
        deadline = None if duration is None else time.monotonic() + duration
        last = dev.state()
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1)
            now = dev.state()
            if now != last:
                info(f"{safe(p.id)} on {dev.address}: [{'green' if now == 'up' else 'red'}]{now}[/]")
                last = now
    except KeyboardInterrupt:
        info("stopping")
    finally:
        ctx.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    """Add the `testbed` command group to the app."""
    group = typer.Typer(help="Virtual fragile devices on loopback addresses, for trials and tests.",
                        no_args_is_help=True, rich_markup_mode=None)
    group.command("list")(list_command)
    group.command("run")(run_command)
    group.command("check")(check_command)
    register_scanners(group)
    app.add_typer(group, name="testbed")
