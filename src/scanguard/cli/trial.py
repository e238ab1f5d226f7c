"""`scanguard trial`: the staged assessment of one device, watched stage by stage; stops at the
first failure, brings the device back, reruns to confirm, records everything in the state
database."""

from __future__ import annotations

import getpass
import ipaddress
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import urlparse

import typer

from ..correlate import check_kind_of
from ..model.ports import PortSet
from ..proposal import Proposal, apply_proposals, write_proposals
from ..sync.state import StateDB
from ..trial import STAGE_ORDER, TrialOptions, run_trial
from ..trial.store import record_trial
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_FAILURE, EXIT_INVALID, EXIT_OK, EXIT_SAFETY, emit_json, fail, info, out, safe, warn


def _loopback(target: str) -> bool:
    try:
        return ipaddress.ip_address(target).is_loopback
    except ValueError:
        return False


def trial(
    profile: Annotated[str, typer.Option("--profile", help="The device's profile id in the workspace.")],
    target: Annotated[str, typer.Option("--target", help="The device's address (loopback unless --allow-non-loopback).")],
    vendor: Annotated[str, typer.Option("--vendor", help="The scanner that runs the stages (its plugin must offer run).")] = "nmap",
    testbed: Annotated[Optional[str], typer.Option("--testbed", help="Start this virtual device (a personality id or "
                                                   "YAML file) on the target for the trial.")] = None,
    reboot_delay: Annotated[Optional[float], typer.Option("--reboot-delay", help="With --testbed: override the reboot "
                                                          "delay, seconds.")] = None,
    control: Annotated[Optional[str], typer.Option("--control", help="A test-bed control interface "
                                                   "(http://127.0.0.1:PORT/) to reset the device through.")] = None,
    heartbeat: Annotated[Optional[int], typer.Option("--heartbeat", help="TCP port the health monitor connects to "
                                                     "(default: the test bed's, else the profile's first open port).")] = None,
    ports: Annotated[str, typer.Option("--ports", help="TCP ports the SYN survey looks at.")] = "1-65535",
    stages: Annotated[Optional[str], typer.Option("--stages", help=f"Comma-separated subset of: {', '.join(STAGE_ORDER)}.")] = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between health probes.")] = 0.2,
    vuln_timeout: Annotated[float, typer.Option("--vuln-timeout", help="Time limit of the safe checks, seconds.")] = 45.0,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the proposed profile change to the workspace now.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Where activity logs and results go "
                                                    "(default: out/trials/PROFILE-TIME under the workspace).")] = None,
    allow_non_loopback: Annotated[bool, typer.Option("--allow-non-loopback", help="Scan a target outside loopback "
                                                     "(only in an isolated lab).")] = False,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Run the staged assessment against one device: discovery (ICMP, TCP SYN, full connect),
    service evaluation port by port, safe vulnerability checks, then higher speed. A health
    monitor watches throughout; at the first failure the trial stops, brings the device back
    (waits, or resets it), reruns the same scan to confirm the spot and proposes the profile
    change. Exit codes: 0 the device survived every stage; 3 it went down (a safety finding);
    2 invalid input; 1 the trial could not run."""
    if not _loopback(target):
        if not allow_non_loopback:
            fail(f"--target {target}: trials run against loopback addresses (127.0.0.0/8, ::1) only; a lab device "
                 "elsewhere needs --allow-non-loopback", EXIT_INVALID)
        warn(f"--allow-non-loopback: scanning {target}, which is NOT a loopback address; make sure it is an "
             "isolated lab device")
    ws = workspace(workspace_, quiet=True)
    prof = next((p for p in ws.profiles if p.id == profile), None)
    if prof is None:
        fail(f"no profile {profile!r} in {ws.root} (profiles: {', '.join(p.id for p in ws.profiles)})", EXIT_INVALID)
    pm = plugins()
    v = run_guarded(pm.vendor, vendor)
    if v.run is None:
        fail(f"vendor {vendor} cannot run scans (its plugin offers no run)", EXIT_INVALID)
    wanted = tuple(STAGE_ORDER)
    if stages:
        wanted = tuple(s.strip() for s in stages.split(",") if s.strip())
        bad = [s for s in wanted if s not in STAGE_ORDER]
        if bad:
            fail(f"--stages: unknown {', '.join(bad)}; known: {', '.join(STAGE_ORDER)}", EXIT_INVALID)
    try:
        survey = PortSet.parse(ports)
    except ValueError as e:
        fail(f"--ports {ports!r}: {e}", EXIT_INVALID)

    with ExitStack() as stack:
        reset = None
        truth = None
        hb = heartbeat
        if testbed is not None:
            if not _loopback(target):
                fail("--testbed: virtual devices listen on loopback addresses only", EXIT_INVALID)
            from ..testbed import PersonalityError, load_personality, run_device

            try:
                personality = load_personality(testbed)
                if reboot_delay is not None:
                    personality = personality.with_recovery(delay_s=reboot_delay)
            except (PersonalityError, ValueError) as e:
                fail(str(e), EXIT_INVALID)
            try:
                dev = stack.enter_context(run_device(personality, target))
            except OSError as e:
                fail(f"cannot start {personality.id} on {target}: {e}", EXIT_FAILURE)
            info(f"test bed: {safe(personality.name)} up on {dev.address} (control {dev.control().url})")
            reset = dev.reset
            hb = hb or dev.heartbeat_port
            truth = lambda: [_truth_text(e) for e in dev.truth()]  # noqa: E731
        elif control is not None:
            from ..testbed import ControlClient

            u = urlparse(control)
            if not u.hostname or not u.port:
                fail(f"--control {control!r}: expected http://HOST:PORT/", EXIT_INVALID)
            client = ControlClient(u.hostname, u.port)
            reset = client.reset
            truth = lambda: [_truth_text(e) for e in client.truth()]  # noqa: E731
        if hb is None:
            open_ports = [lo for lo, _ in (prof.fingerprint.open_ports - prof.lattice().excluded_ports).tcp.intervals]
            if not open_ports:
                fail("no heartbeat port: give --heartbeat PORT (a TCP port the device always answers on)", EXIT_INVALID)
            hb = open_ports[0]
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        where = out_dir or (ws.root / "out" / "trials" / f"{profile}-{stamp}")
        options = TrialOptions(stages=wanted, survey_ports=survey, heartbeat_port=hb, interval_s=interval,
                               vulnerability_timeout_s=vuln_timeout, allow_non_loopback=allow_non_loopback)
        kinds = {name: check_kind_of(rec) for name, rec in pm.vendors().items()}
        info(f"trial of {safe(prof.id)} ({safe(prof.name)}) at {target} with {vendor}; heartbeat tcp/{hb}")
        result = run_guarded(run_trial, prof, target, v, out_dir=where, options=options, reset=reset,
                             progress=info, plugins=pm, workspace=ws, check_kinds=kinds, ground_truth=truth)

    applied = []
    if result.findings:
        proposals = [Proposal(host=f.host, title=f.title, confidence=f.confidence, change=f.proposal)
                     for f in result.findings[:1] if f.proposal is not None]
        if proposals:
            path = write_proposals(proposals, Path(where) / "proposal.yaml")
            info(f"proposal written to {safe(path)}; apply with `scanguard apply-proposal {safe(path)}`")
            if apply:
                from .common import compile_and_render_check

                applied = run_guarded(apply_proposals, proposals, ws.root, validate=compile_and_render_check())
                for a in applied:
                    info(f"[green]applied[/] to {safe(a.profile)} ({safe(a.file)}): {safe(a.summary)}")
                result = result.model_copy(update={"applied": tuple(a.summary for a in applied)})
    with StateDB(ws.state_path()) as db:
        trial_id = record_trial(db, result, user=getpass.getuser())
    result = result.model_copy(update={"id": trial_id})
    if json_:
        emit_json({"trial": result.model_dump(mode="json", exclude={"health", "activity"})})
    else:
        _print(result)
    info(f"recorded as trial {trial_id} in {safe(ws.state_path())}; `scanguard scorecard {safe(prof.id)}` "
         "writes the owner's scorecard")
    raise typer.Exit(EXIT_SAFETY if result.outcome == "failed" else EXIT_OK)


def _truth_text(e) -> str:
    where = f" {e.port}/{e.protocol}" if e.port is not None else ""
    what = f" rule {e.rule}" if e.rule else (f" by {e.how}" if e.how else "")
    return f"{e.time.isoformat(timespec='milliseconds')} {e.kind}{what}{where}{': ' + e.detail if e.detail else ''}"


def _print(result) -> None:
    colours = {"passed": "green", "failed": "red", "skipped": "yellow", "not-run": "dim"}
    for s in result.stages:
        c = colours[s.status]
        out.print(f"[{c}]{s.status:8}[/] {safe(s.title)}: {safe(s.reason)}"
                  + (" [bold](confirmed)[/]" if s.confirmed else ""))
        for o in s.outages:
            rec = o.recovery
            out.print(f"         outage {o.outage.start.isoformat(timespec='milliseconds')} ({safe(o.run)}); "
                      f"{rec.how + f' after {rec.waited_s:g}s' if rec else 'no recovery'}")
    for f in result.findings:
        out.print(f"[bold]{safe(f.title)}[/] (confidence {f.confidence:.2f})")
        if f.proposal is not None:
            out.print(f"  proposal: {safe(f.proposal.kind)} for {safe(f.proposal.profile)}: {safe(f.proposal.reason)}")
    out.print(f"[bold]{safe(result.summary)}[/]")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("trial")(trial)
