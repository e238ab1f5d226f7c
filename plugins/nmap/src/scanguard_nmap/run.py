"""Run a real nmap scan from a compiled template, capture its activity, stop it when the device
goes down.

    run = run_scan(compiled, ["127.0.0.23"], out_dir=tmp, stop_when=lambda: not monitor.is_up())
    run.stopped_early, run.activity_log, run.xml, run.events

The argument vector is :func:`scanguard_nmap.argv.render_argv` (always ``-n``) with
``--packet-trace -d -oX FILE`` and the targets appended. nmap is read through a
pseudo-terminal so that it writes line by line (through a pipe it buffers whole blocks, which
would make arrival times wrong and lose the last lines, the ones that matter, when it is
stopped). Every line is saved with its arrival time; see :mod:`scanguard_nmap.activity`.

Safety net for this project's environments (tests, demo, the test bed): targets must be
loopback addresses unless ``allow_non_loopback`` is passed, and NSE's ``broadcast`` and
``external`` categories are left out of the script expression (they send packets to the local
network or data to third parties, whatever the targets).
"""

from __future__ import annotations

import ipaddress
import os
import pty
import select
import shutil
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from pydantic import Field

from scanguard import ActivityEvent, CompiledTemplate, ScanguardError, UsageError
from scanguard.model.base import Model

from .activity import format_header, format_line, parse_activity
from .argv import render_argv

CONFINED_SCRIPT_TERMS = ("broadcast", "external")
"""NSE categories left out unless non-loopback scanning is allowed."""
STOP_GRACE_S = 5.0
"""How long nmap gets to exit after SIGTERM (it flushes its XML) before it is killed."""


class NmapRun(Model):
    """What a run of nmap did."""

    argv: tuple[str, ...]
    exit_code: int | None
    activity_log: Path
    xml: Path
    started: datetime
    finished: datetime
    stopped_early: bool = False
    stop_reason: str = ""
    events: tuple[ActivityEvent, ...] = Field(default=(), repr=False)


def check_targets(targets: Sequence[str], *, allow_non_loopback: bool = False) -> None:
    """Refuse targets outside 127.0.0.0/8 and ::1 (UsageError naming them) unless allowed.
    Host names are refused too: what they resolve to is not known here."""
    if not targets:
        raise UsageError("no target to scan")
    if allow_non_loopback:
        return
    bad = []
    for t in targets:
        try:
            net = ipaddress.ip_network(t.strip(), strict=False)
        except ValueError:
            bad.append(t)
            continue
        if not net.is_loopback:
            bad.append(t)
    if bad:
        raise UsageError(
            f"refusing to scan {', '.join(bad)}: only loopback addresses (127.0.0.0/8, ::1) are scanned "
            "unless allow_non_loopback is set"
        )


def confine_scripts(argv: list[str]) -> list[str]:
    """The argument vector with NSE's broadcast and external categories left out of --script
    (narrowing only: the expression can only select fewer scripts)."""
    out = list(argv)
    for i, a in enumerate(out[:-1]):
        if a == "--script":
            terms = " and ".join(f"not {t}" for t in CONFINED_SCRIPT_TERMS)
            out[i + 1] = f"({out[i + 1]}) and {terms}"
    return out


def build_argv(template: CompiledTemplate | Sequence[str], targets: Sequence[str], xml: Path, *,
               nmap: str = "nmap", debug: int = 1, allow_non_loopback: bool = False,
               extra_args: Sequence[str] = ()) -> list[str]:
    """The full argument vector: the template's (always with -n), tracing, XML output, targets.
    `template` is a CompiledTemplate or an argument vector without targets (from render_argv)."""
    check_targets(targets, allow_non_loopback=allow_non_loopback)
    base = render_argv(template, with_targets=False) if isinstance(template, CompiledTemplate) else list(template)
    if base and os.path.basename(base[0]) == "nmap":
        base = base[1:]
    if "-n" not in base:
        base.insert(0, "-n")  # never resolve names: no DNS traffic leaves the machine
    if not allow_non_loopback:
        base = confine_scripts(base)
    argv = [nmap, *base, "--packet-trace"]
    if debug:
        argv.append("-" + "d" * debug)  # -d prints "NSE: Starting <script> against <host>"
    if isinstance(template, CompiledTemplate) and template.targets.exclude:
        # the targets are given here, but never-scan and restricted addresses stay excluded
        argv += ["--exclude", ",".join(template.targets.exclude.blocks())]
    argv += [*extra_args, "-oX", str(xml), *targets]
    return argv


def run_scan(template: CompiledTemplate | Sequence[str], targets: Sequence[str], *, out_dir: Path,
             name: str = "nmap", stop_when: Callable[[], bool] | None = None, poll_interval_s: float = 0.05,
             timeout_s: float | None = None, nmap: str | None = None, debug: int = 1,
             allow_non_loopback: bool = False, extra_args: Sequence[str] = ()) -> NmapRun:
    """Run nmap and wait for it, polling `stop_when` every `poll_interval_s` seconds: when it
    returns True (e.g. the device is down) nmap is stopped (SIGTERM, then SIGKILL). Writes
    ``<out_dir>/<name>.activity.log`` and ``<name>.xml``. `timeout_s` stops it likewise.

    Raises UsageError for a non-loopback target (unless allowed) and ScanguardError when nmap
    is not installed."""
    binary = nmap or shutil.which("nmap")
    if not binary:
        raise ScanguardError("nmap is not installed (install the nmap package, or pass nmap=PATH)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xml = out_dir / f"{name}.xml"
    log_path = out_dir / f"{name}.activity.log"
    argv = build_argv(template, targets, xml, nmap=binary, debug=debug,
                      allow_non_loopback=allow_non_loopback, extra_args=extra_args)

    master, slave = pty.openpty()
    started = datetime.now(timezone.utc)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True,
                                start_new_session=True)
    except OSError as e:
        os.close(master)
        os.close(slave)
        raise ScanguardError(f"cannot run {binary}: {e}") from None
    os.close(slave)  # the child holds its own copy; closing ours lets EOF arrive when it exits

    with open(log_path, "w", encoding="utf-8") as log:
        log.write("\n".join(format_header(started, argv)) + "\n")
        reader = threading.Thread(target=_pump, args=(master, log), name=f"nmap-{name}", daemon=True)
        reader.start()
        stopped, reason = False, ""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while proc.poll() is None:
            if stop_when is not None and _safe_call(stop_when):
                stopped, reason = True, "stop_when"
            elif deadline is not None and time.monotonic() > deadline:
                stopped, reason = True, "timeout"
            if stopped:
                _stop(proc)
                break
            time.sleep(poll_interval_s)
        proc.wait()
        reader.join(STOP_GRACE_S)
    finished = datetime.now(timezone.utc)
    with open(log_path, encoding="utf-8") as f:
        events = tuple(parse_activity(f))
    return NmapRun(argv=tuple(argv), exit_code=proc.returncode, activity_log=log_path, xml=xml, started=started,
                   finished=finished, stopped_early=stopped, stop_reason=reason, events=events)


def _safe_call(fn: Callable[[], bool]) -> bool:
    # a failing health probe must not leave nmap running against a device we can no longer watch
    try:
        return bool(fn())
    except Exception:
        return True


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pump(fd: int, log) -> None:
    """Copy nmap's output into the log, one timestamped line at a time, until EOF."""
    buf = b""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child side of the pty closed (Linux's EOF)
                break
            if not chunk:
                break
            now = datetime.now(timezone.utc)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                log.write(format_line(now, raw.rstrip(b"\r").decode("utf-8", "replace")) + "\n")
            log.flush()
        if buf:
            log.write(format_line(datetime.now(timezone.utc), buf.rstrip(b"\r").decode("utf-8", "replace")) + "\n")
            log.flush()
    finally:
        os.close(fd)
