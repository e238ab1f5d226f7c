"""Run a real nmap scan from a compiled template, capture its activity, stop it when the device
goes down.

    run = run_scan(compiled, ["127.0.0.23"], out_dir=tmp, stop_when=lambda: not monitor.is_up())
    run.stopped_early, run.activity_log, run.results, run.activity      # a scanguard.ScanRun

The argument vector is :func:`scanguard_nmap.argv.render_argv` (always ``-n``) with
``--packet-trace -d -oX FILE`` and the targets appended. nmap is read through a
pseudo-terminal so that it writes line by line (through a pipe it buffers whole blocks, which
would make arrival times wrong and lose the last lines, the ones that matter, when it is
stopped). Every line is saved with its arrival time; see :mod:`scanguard_nmap.activity`.

Safety net for this project's environments (tests, demo, the test bed): targets must be
loopback addresses unless ``allow_non_loopback`` is passed, and NSE's ``broadcast`` and
``external`` categories are left out of the script expression (they send packets to the local
network or data to third parties, whatever the targets). Scripts that look names up through the
machine's resolver (:data:`scanguard_nmap.mapping.NAME_LOOKUP_SCRIPTS`, ``fcrdns`` among them:
``-n`` does not stop them) are always left out: a scan sends nothing anywhere but its targets.

Version detection (:func:`version_detection_in_run`): nmap started here reads a data directory
scanguard controls, so a template whose checks are on gets ``-sV`` (nmap's service probes) even
where rendering for another machine withholds it (safe checks only, intrusive excluded, an nmap
script excluded), unless it excludes nmap's ``version`` category. Its ``--datadir`` holds a
private ``scripts/script.db`` in which only the version scripts the template's checks allow
remain (:mod:`scanguard_nmap.scriptdb`): under safe checks only, only ``safe`` ones, and never one
that is excluded or confined. Every ``-sV`` run gets such a database (a command's own ``-sV``:
the version scripts its ``--script`` selects).

Replay (:func:`replay_argv`): one probe, script or connect of an earlier run, alone, on one port,
to confirm what took a device down. A version-detection probe is replayed with a data directory
whose ``nmap-service-probes`` holds only that probe (taken from the installed nmap's own file)
and whose script database is empty, so that ``-sV`` sends that probe and nothing else (no
``version`` scripts follow it); a script is forced to run alone (``--script "+(EXPR) and NAME"``,
within the template's own expression); anything else is a bare connect to the port.
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

from scanguard import CompiledTemplate, ScanguardError, ScanRun, ScanTemplate, Suspect, UsageError, VendorCheck

from .activity import format_header, format_line, parse_activity
from .argv import render_argv, version_script_rule
from .mapping import NAME_LOOKUP_SCRIPTS, VENDOR
from .scriptdb import write_private_db
from .services import find_data_file

__all__ = ["NAME_LOOKUP_SCRIPTS", "build_argv", "confine_scripts", "installed_probes", "replay_argv", "run_scan",
           "version_detection_in_run"]

CONFINED_SCRIPT_TERMS = ("broadcast", "external")
"""NSE categories left out unless non-loopback scanning is allowed."""
STOP_GRACE_S = 5.0
"""How long nmap gets to exit after SIGTERM (it flushes its XML) before it is killed."""
NO_VERSION_DETECTION = VendorCheck(vendor=VENDOR, kind="category", id="version")
"""The exclusion that keeps every service probe away: with it, no -sV, anywhere."""


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


def confine_scripts(argv: list[str], terms: Sequence[str] = (*CONFINED_SCRIPT_TERMS, *NAME_LOOKUP_SCRIPTS)) -> list[str]:
    """The argument vector with `terms` (NSE categories or script names; by default broadcast,
    external and the name-lookup scripts) left out of every --script (narrowing only: the
    expression can only select fewer scripts). A forced expression (``+...``) keeps its ``+``.
    The terms are one ``not (a or b ...)``: nmap takes time exponential in the number of
    ``and``s of a rule, while a long ``or`` costs nothing."""
    if not terms:
        return list(argv)
    out = list(argv)
    for i, a in enumerate(out):
        if a == "--script" and i + 1 < len(out):
            out[i + 1] = _confined(out[i + 1], terms)
        elif a.startswith("--script="):
            out[i] = "--script=" + _confined(a.removeprefix("--script="), terms)
    return out


def _confined(expr: str, terms: Sequence[str]) -> str:
    force = "+" if expr.startswith("+") else ""
    return f"{force}({expr.removeprefix('+')}) and not ({' or '.join(terms)})"


def script_rules(argv: Sequence[str]) -> str | None:
    """Every ``--script`` argument of a vector, as one (nmap takes the union of their rules), or
    None when there is none."""
    found = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--script"]
    found += [a.removeprefix("--script=") for a in argv if a.startswith("--script=")]
    return ",".join(found) if found else None


def version_detection_in_run(t: ScanTemplate) -> bool:
    """Whether a run started here sends version detection (``-sV``, nmap's service probes) for
    the template: whenever its checks are on and it scans ports, unless it excludes nmap's
    ``version`` category. The version scripts that follow the probes are kept to the template's
    checks by a private script database (see the module docstring); a rendered template, run
    elsewhere, keeps the strict rule (:func:`scanguard_nmap.argv.version_detection_allowed`)."""
    return t.checks.enabled and bool(t.ports) and NO_VERSION_DETECTION not in t.checks.excluded_vendor_checks


def build_argv(template: CompiledTemplate | Sequence[str], targets: Sequence[str], xml: Path, *,
               nmap: str = "nmap", debug: int = 1, allow_non_loopback: bool = False,
               extra_args: Sequence[str] = ()) -> list[str]:
    """The full argument vector: the template's (always with -n), tracing, XML output, targets.
    `template` is a CompiledTemplate or an argument vector without targets (from render_argv).
    A vector with version detection (``-sV``, ``-A``) and no ``--datadir`` gets a private data
    directory beside `xml` (``<stem>.nmap-data``, written here) whose script database holds only
    the version scripts the template's checks allow (:func:`scanguard_nmap.argv.version_script_rule`;
    for a command, those its own ``--script`` selects), never a confined one. ScanguardError when
    nmap's own database cannot be found: version detection could not be kept to the template."""
    check_targets(targets, allow_non_loopback=allow_non_loopback)
    terms = (*(() if allow_non_loopback else CONFINED_SCRIPT_TERMS), *NAME_LOOKUP_SCRIPTS)
    if isinstance(template, CompiledTemplate):
        base = render_argv(template, with_targets=False)
        if "-sV" not in base and version_detection_in_run(template.template):
            base.append("-sV")
        version_rule: str | None = _confined(version_script_rule(template.template), terms)
    else:
        base = list(template)
        version_rule = None
    if base and os.path.basename(base[0]) == "nmap":
        base = base[1:]
    if "-n" not in base:
        base.insert(0, "-n")  # never resolve names: no DNS traffic leaves the machine
    base = confine_scripts(base, terms)
    if {"-sV", "-A"} & set(base) and not any(a == "--datadir" or a.startswith("--datadir=") for a in base):
        # a command's own -sV: its own --script decides (without one, only the confined terms)
        rule = version_rule or script_rules(base) or f"all and not ({' or '.join(terms)})"
        datadir = xml.parent / f"{xml.stem}.nmap-data"
        write_private_db(datadir, rule, nmap)
        base += ["--datadir", str(datadir)]
    argv = [nmap, *base, "--packet-trace"]
    if debug:
        argv.append("-" + "d" * debug)  # -d prints "NSE: Starting <script> against <host>"
    if isinstance(template, CompiledTemplate) and template.targets.exclude:
        # the targets are given here, but never-scan and restricted addresses stay excluded
        argv += ["--exclude", ",".join(template.targets.exclude.blocks())]
    argv += [*extra_args, "-oX", str(xml), *targets]
    return argv


def probe_block(probes_text: str, protocol: str, probe: str) -> str:
    """One probe of an ``nmap-service-probes`` file: its ``Probe`` line with the directives that
    say how it is sent and awaited (``totalwaitms``, ``tcpwrappedms``), as a file of its own.
    Raises UsageError when the file has no such probe."""
    head = f"Probe {protocol.upper()} {probe} "
    lines = probes_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(head):
            keep = [line, "rarity 1"]
            for nxt in lines[i + 1:]:
                if nxt.startswith("Probe "):
                    break
                if nxt.split(" ", 1)[0] in ("totalwaitms", "tcpwrappedms"):
                    keep.append(nxt)
            return "\n".join(keep) + "\n"
    raise UsageError(f"nmap has no {protocol} version-detection probe {probe!r} to replay")


_ESCAPES = {"\\": "\\", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def probe_payload(probes_text: str, protocol: str, probe: str) -> bytes:
    """The bytes a version-detection probe sends: its ``q|...|`` string from an
    ``nmap-service-probes`` file, with nmap's escapes (``\\r``, ``\\n``, ``\\0``, ``\\xHH``, ...)
    decoded. Raises UsageError when the file has no such probe."""
    line = probe_block(probes_text, protocol, probe).splitlines()[0]
    spec = line.split(" ", 3)[3]  # "q|...|" (and maybe " no-payload")
    if not spec.startswith("q") or len(spec) < 3:
        raise UsageError(f"probe {probe}: cannot read its payload from {line!r}")
    delim, body = spec[1], spec[2:]
    out, i = [], 0
    while i < len(body) and body[i] != delim:
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "x":
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out).encode("latin-1")


def installed_probes(nmap: str = "nmap") -> str:
    """The text of the installed nmap's ``nmap-service-probes`` (ScanguardError when not found)."""
    source = find_data_file("nmap-service-probes", nmap=nmap)
    if source is None:
        raise ScanguardError("nmap-service-probes not found (set NMAPDIR to nmap's data directory)")
    return source.read_text(encoding="latin-1")


def replay_argv(base: Sequence[str], suspect: Suspect, workdir: Path, *, nmap: str = "nmap") -> list[str]:
    """The argument vector (without targets) that sends only what `suspect` names to its port,
    within the template vector `base` (its timing and rate options are kept; its port list,
    version detection and scripts are replaced). See the module docstring."""
    if suspect.port is None:
        raise UsageError("a replay needs the port the suspect was sent to")
    proto = suspect.protocol if suspect.protocol in ("tcp", "udp") else "tcp"
    out: list[str] = []
    expr: str | None = None
    skip = False
    for i, a in enumerate(base):
        if skip:
            skip = False
            continue
        if a in ("-p", "--script", "--exclude-ports"):
            if a == "--script":
                expr = base[i + 1] if i + 1 < len(base) else None
            skip = True
            continue
        if a in ("-sV", "--version-all") or a.startswith("--version-intensity"):
            continue
        out.append(a)
    out += ["-p", f"{'T' if proto == 'tcp' else 'U'}:{suspect.port}"]
    if suspect.check_id:
        if expr is None:
            raise UsageError(f"cannot replay script {suspect.check_id}: the template runs no scripts")
        if not all(c.isalnum() or c in "_.-" for c in suspect.check_id):
            raise UsageError(f"{suspect.check_id!r} is not an NSE script name")
        # forced ("+"), so its port rule does not need -sV; still within the template's expression
        out += ["--script", f"+({expr.removeprefix('+')}) and {suspect.check_id}"]
    elif suspect.probe:
        if suspect.probe != "NULL" and not all(c.isalnum() or c in "_.-" for c in suspect.probe):
            raise UsageError(f"{suspect.probe!r} is not an nmap probe name")
        datadir = workdir / "replay-data"
        (datadir / "scripts").mkdir(parents=True, exist_ok=True)
        (datadir / "nmap-service-probes").write_text(probe_block(installed_probes(nmap), proto, suspect.probe),
                                                     encoding="latin-1")
        (datadir / "scripts" / "script.db").write_text("", encoding="utf-8")  # no version scripts after it
        out += ["-sV", "--version-all", "--datadir", str(datadir)]
    return out


def run_scan(template: CompiledTemplate | Sequence[str], targets: Sequence[str], *, out_dir: Path,
             name: str = "nmap", stop_when: Callable[[], bool] | None = None, poll_interval_s: float = 0.05,
             timeout_s: float | None = None, nmap: str | None = None, debug: int = 1,
             allow_non_loopback: bool = False, extra_args: Sequence[str] = (),
             replay: Suspect | None = None) -> ScanRun:
    """Run nmap and wait for it, polling `stop_when` every `poll_interval_s` seconds: when it
    returns True (e.g. the device is down) nmap is stopped (SIGTERM, then SIGKILL). Writes
    ``<out_dir>/<name>.activity.log`` and ``<name>.xml``. `timeout_s` stops it likewise.
    With `replay`, only what that suspect names is sent (see :func:`replay_argv`).

    Raises UsageError for a non-loopback target (unless allowed) and ScanguardError when nmap
    is not installed."""
    binary = nmap or shutil.which("nmap")
    if not binary:
        raise ScanguardError("nmap is not installed (install the nmap package, or pass nmap=PATH)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xml = out_dir / f"{name}.xml"
    log_path = out_dir / f"{name}.activity.log"
    if replay is not None:
        if isinstance(template, CompiledTemplate):
            if template.targets.exclude:  # a replay keeps the template's excluded addresses too
                extra_args = [*extra_args, "--exclude", ",".join(template.targets.exclude.blocks())]
            base = render_argv(template, with_targets=False)
        else:
            base = list(template)
        template = replay_argv(base, replay, out_dir / name, nmap=binary)
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
    return ScanRun(label=name, vendor="nmap", argv=tuple(argv), exit_code=proc.returncode, activity=events,
                   activity_log=log_path, results=xml if xml.exists() else None, started=started,
                   finished=finished, stopped_early=stopped, stop_reason=reason)


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
