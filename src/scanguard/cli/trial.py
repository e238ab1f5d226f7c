"""`scanguard trial`: the staged assessment of one device, watched stage by stage; stops at the
first failure, brings the device back, confirms the spot, records everything in the state
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
from ..suggest import unknown
from ..sync.state import StateDB
from ..trial import STAGE_ORDER, TrialOptions, check_policy, preflight, run_trial
from ..trial.netns import ISOLATION, IsolatedTrial, run_isolated, why_not_isolated
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
    stage_timeout: Annotated[float, typer.Option("--stage-timeout", help="Time limit of each scan of the discovery, "
                                                 "service and speed stages, seconds.")] = 120.0,
    vuln_timeout: Annotated[float, typer.Option("--vuln-timeout", help="Time limit of the safe checks on one port, "
                                                "seconds (the checks run port by port).")] = 240.0,
    allow_incomplete: Annotated[bool, typer.Option("--allow-incomplete", help="Start a stage whose estimate exceeds its "
                                                   "time limit anyway (it ends 'incomplete' with its coverage).")] = False,
    accept_risk: Annotated[Optional[str], typer.Option("--accept-risk", help="For a device whose policy is never: "
                                                       "who accepted its risk (or the ticket), to try it anyway.")] = None,
    isolate: Annotated[Optional[bool], typer.Option("--isolate/--no-isolate", help="With --testbed: run the test bed "
                                                    "and the scans in a network namespace of their own with only "
                                                    "loopback (default: when this is Linux and root).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the proposed profile change to the workspace now.")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Where activity logs and results go "
                                                    "(default: out/trials/PROFILE-TIME under the workspace).")] = None,
    allow_non_loopback: Annotated[bool, typer.Option("--allow-non-loopback", help="Scan a target outside loopback "
                                                     "(only in an isolated lab).")] = False,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Run the staged assessment against one device: discovery (ICMP, TCP SYN, full connect),
    service evaluation port by port, safe vulnerability checks port by port, then higher speed.
    Each stage is estimated before it starts: one that cannot finish within its time limit is
    refused with a --ports that fits. A health monitor watches throughout; at the first failure
    the trial stops, brings the device back (waits, or resets it), confirms the spot (a rerun, or
    the payloads of a port's checks replayed one by one) and proposes the profile change. A
    stage cut short is 'incomplete' with its coverage, never 'passed'. Exit codes: 0 the device
    survived every stage that ran; 3 it went down (a safety finding); 1 inconclusive (a stage was
    cut short) or the trial could not run; 2 invalid input (a device whose policy is never, a
    stage that cannot finish)."""
    if not _loopback(target):
        if not allow_non_loopback:
            fail(f"--target {target}: trials run against loopback addresses (127.0.0.0/8, ::1) only; a lab device "
                 "elsewhere needs --allow-non-loopback", EXIT_INVALID)
        warn(f"--allow-non-loopback: scanning {target}, which is NOT a loopback address; make sure it is an "
             "isolated lab device")
    ws = workspace(workspace_, quiet=True)
    prof = next((p for p in ws.profiles if p.id == profile), None)
    if prof is None:
        fail(unknown("profile", profile, [p.id for p in ws.profiles], listed=f"profiles in {ws.root}"), EXIT_INVALID)
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
    override = run_guarded(check_policy, prof, accept_risk)
    if override:
        warn(f"{safe(prof.id)} has policy never; trying it anyway under its risk acceptance ({safe(override)})")

    personality = None
    device_ports = None
    if testbed is not None:
        if not _loopback(target):
            fail("--testbed: virtual devices listen on loopback addresses only", EXIT_INVALID)
        from .testbed import personality_or_exit

        personality = personality_or_exit(testbed, reboot_delay)
        device_ports = _own_ports(personality.tcp_ports, personality.udp_ports)
    client = None
    if control is not None and testbed is None:
        from ..testbed import ControlClient

        u = urlparse(control)
        if not u.hostname or not u.port:
            fail(f"--control {control!r}: expected http://HOST:PORT/", EXIT_INVALID)
        client = ControlClient(u.hostname, u.port)
        status = run_guarded(client.status)
        device_ports = _own_ports(status.tcp_ports, status.udp_ports)
    hb = heartbeat
    if hb is None and personality is not None:
        hb = personality.heartbeat if personality.heartbeat is not None else personality.tcp_ports[0]
    if hb is None and client is not None:
        st = run_guarded(client.status)
        hb = st.heartbeat if st.heartbeat is not None else (st.tcp_ports[0] if st.tcp_ports else None)
    if hb is None:
        open_ports = [lo for lo, _ in (prof.fingerprint.open_ports - prof.lattice().excluded_ports).tcp.intervals]
        if not open_ports:
            fail("no heartbeat port: give --heartbeat PORT (a TCP port the device always answers on)", EXIT_INVALID)
        hb = open_ports[0]
    isolation = ""
    if personality is not None and isolate is not False:
        why_not = why_not_isolated()
        if why_not is None:
            isolation = ISOLATION
        elif isolate:
            fail(f"--isolate: {why_not}", EXIT_INVALID)
        else:
            info(f"not isolated ({why_not}): the trial runs in this machine's network namespace")
    elif isolate:
        fail("--isolate needs --testbed (the device must live in the namespace with the scanner)", EXIT_INVALID)
    options = TrialOptions(stages=wanted, survey_ports=survey, heartbeat_port=hb, interval_s=interval,
                           stage_timeout_s=stage_timeout, vulnerability_timeout_s=vuln_timeout,
                           allow_incomplete=allow_incomplete, allow_non_loopback=allow_non_loopback,
                           device_ports=device_ports, accept_risk=accept_risk, isolation=isolation)
    # refused here, before a test bed starts or a packet is sent
    for e in run_guarded(preflight, prof, target, options):
        info(f"estimate: {safe(e.text())}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    where = out_dir or (ws.root / "out" / "trials" / f"{profile}-{stamp}")
    kinds = {name: check_kind_of(rec) for name, rec in pm.vendors().items()}
    info(f"trial of {safe(prof.id)} ({safe(prof.name)}) at {target} with {vendor}; heartbeat tcp/{hb}")
    if isolation:
        job = IsolatedTrial(workspace=ws.root, profile=prof.id, target=target, vendor=vendor,
                            personality=personality.model_dump(mode="json"), options=options, out_dir=Path(where))
        result = run_guarded(run_isolated, job)
    else:
        with ExitStack() as stack:
            reset = None
            truth = None
            if personality is not None:
                from ..testbed import run_device

                try:
                    dev = stack.enter_context(run_device(personality, target))
                except OSError as e:
                    fail(f"cannot start {personality.id} on {target}: {e}", EXIT_FAILURE)
                info(f"test bed: {safe(personality.name)} up on {dev.address} (control {dev.control().url})")
                reset = dev.reset
                truth = lambda: [e.text() for e in dev.truth()]  # noqa: E731
            elif client is not None:
                reset = client.reset
                truth = lambda: [e.text() for e in client.truth()]  # noqa: E731
            result = run_guarded(run_trial, prof, target, v, out_dir=where, options=options, reset=reset,
                                 progress=info, plugins=pm, workspace=ws, check_kinds=kinds, ground_truth=truth)
    for w in result.warnings:
        warn(safe(w))

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
    raise typer.Exit({"failed": EXIT_SAFETY, "inconclusive": EXIT_FAILURE}.get(result.outcome, EXIT_OK))


def _own_ports(tcp: tuple[int, ...], udp: tuple[int, ...]) -> PortSet:
    return PortSet.parse([f"{p}/tcp" for p in tcp] + [f"{p}/udp" for p in udp])


def _print(result) -> None:
    colours = {"passed": "green", "failed": "red", "incomplete": "magenta", "skipped": "yellow", "not-run": "dim"}
    for s in result.stages:
        c = colours[s.status]
        out.print(f"[{c}]{s.status:10}[/] {safe(s.title)}: {safe(s.reason)}"
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
