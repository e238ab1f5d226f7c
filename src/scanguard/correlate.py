"""Post-scan failure correlation: which scanner activity took a device down, and what to change.

Vendor-neutral: the inputs are ActivityEvents (from any vendor's ``parse_activity``) and a
health timeline (HealthEvents, e.g. from :mod:`scanguard.health`). For each outage:

1. the *window*: the activity on that host from ``lookback_s`` before the last time it was seen
   up (or before the outage start when it never was) until the outage start;
2. the *suspects*: every port and check touched in the window, ranked by recency: the one
   touched last before the failure first (:func:`rank_suspects`). This core ranking is what the
   built-in plugin ``scanguard.builtin.correlators`` returns from ``scanguard_correlate``, so it
   runs behind the hook with any third-party correlator, and a plugin that raises is skipped
   (fail open: correlation is advice, not a gate);
3. the *burst*: the peak number of probes in any one second and the distinct ports/checks in
   the window (:func:`burst_of`).

Across outages of the same host (repeated runs: "rerun to see if it fails at the same spot"):
the one port or check that is "at the failure" (touched between just before the last up and the
first down observation, see :func:`candidates`) in every outage, at least two, is *confirmed*.
The health probe cannot see the instant of death, so in one run the probe sent just after the
killer may look as guilty as the killer; a rerun (scanners randomise port order) leaves only
the killer common to both. A burst with no confirmed single suspect points at rate. Each host gets findings with evidence, confidence
and a proposed :class:`~scanguard.model.ProfileChange` (excluded port, excluded check or rate
limit) that ``scanguard apply-proposal`` writes into the device's profile.

The scanner's own signal that it lost the target (an ActivityEvent of kind ``lost``: nmap's
"aborting this service" right after a probe) outranks recency: the probe in flight when the
scanner lost the service is the top suspect, and what the scanner did after it (a burst of
scripts that start milliseconds after the death, before any health probe can see it) is the
aftermath, left out of the suspects and of the burst. :func:`in_flight` lists the suspects of one
outage in the order a trial replays them alone to confirm one (:func:`replay_finding`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from pydantic import Field

from .model.base import Model
from .model.checks import VendorCheck
from .model.events import ActivityEvent, Finding, HealthEvent, Outage, ProfileChange, Suspect
from .model.ports import PortSet
from .model.run import ScanRun

if TYPE_CHECKING:
    from .plugin.manager import PluginManager
    from .plugin.records import Vendor
    from .workspace import Workspace

DEFAULT_LOOKBACK_S = 30.0
"""How far before the last up observation activity is still suspect (a device may take a few
seconds to die after the packet that kills it, and heartbeats are seconds apart)."""
DEFAULT_SLACK_S = 1.0
"""Activity this long before the last up observation is still "at the failure": a health probe
answers a little after the device took the packet that kills it."""
BURST_MIN_DISTINCT = 10
"""A window that touched at least this many distinct ports or checks ..."""
BURST_MIN_RATE = 10.0
"""... at a peak of at least this many probes in one second is a burst."""
PREFERRED_CHECK_KINDS = ("plugin", "oid", "check", "script", "nvt")
"""Which of a vendor's check kinds names a single check (the first one it declares wins)."""

ACTIVE_KINDS = frozenset({"probe", "start", "error"})
PAYLOAD_KINDS = frozenset({"probe", "start"})
"""What sends something to the device (a replay can send it again)."""


class Burst(Model):
    """How busy the window before an outage was."""

    probes: int
    distinct: int
    peak_per_second: float
    alive_peak_per_second: float = 0.0
    """The peak counted only up to the last moment the device was seen up: a rate it survived."""
    first: datetime | None = None
    last: datetime | None = None

    def is_burst(self, min_distinct: int = BURST_MIN_DISTINCT, min_rate: float = BURST_MIN_RATE) -> bool:
        """Many distinct targets at a high peak rate."""
        return self.distinct >= min_distinct and self.peak_per_second >= min_rate


class Observation(Model):
    """One outage of one run with its window, ranked suspects (best first) and burst."""

    run: int
    run_label: str = ""
    outage: Outage
    window_start: datetime
    window_end: datetime
    events: tuple[ActivityEvent, ...] = Field(default=(), repr=False)
    suspects: tuple[Suspect, ...] = ()
    burst: Burst

    def top(self) -> Suspect | None:
        """The best suspect, if any."""
        return self.suspects[0] if self.suspects else None


class CorrelationReport(Model):
    """Everything `scanguard correlate` concludes."""

    observations: tuple[Observation, ...] = ()
    findings: tuple[Finding, ...] = ()

    def proposals(self) -> tuple[ProfileChange, ...]:
        """The proposed profile changes, best first."""
        return tuple(f.proposal for f in self.findings if f.proposal is not None)


# -- the window and the core ranking ------------------------------------------------------------
def window_of(outage: Outage, lookback_s: float = DEFAULT_LOOKBACK_S) -> tuple[datetime, datetime]:
    """(from, to) of the activity that is suspect for an outage."""
    anchor = outage.last_up or outage.start
    return anchor - timedelta(seconds=lookback_s), outage.start


def events_in_window(outage: Outage, activity: Iterable[ActivityEvent],
                     lookback_s: float = DEFAULT_LOOKBACK_S) -> list[ActivityEvent]:
    """The activity on the outage's host inside its window, oldest first."""
    lo, hi = window_of(outage, lookback_s)
    return sorted((e for e in activity if e.host == outage.host and lo <= e.time <= hi), key=lambda e: e.time)


def first_lost(events: Iterable[ActivityEvent]) -> ActivityEvent | None:
    """The scanner's first signal that it lost the target (kind ``lost``), if any."""
    return next((e for e in sorted(events, key=lambda e: e.time) if e.kind == "lost"), None)


def before_loss(events: Sequence[ActivityEvent]) -> list[ActivityEvent]:
    """The events up to the scanner's first ``lost`` signal (all of them when there is none):
    what follows it is the aftermath of the failure, not its cause."""
    lost = first_lost(events)
    return list(events) if lost is None else [e for e in events if e.time <= lost.time]


def suspect_key(s: Suspect | ActivityEvent) -> tuple:
    """What a suspect is about: a check (by id) or a port (with protocol) or a bare protocol."""
    if s.check_id:
        return ("check", s.check_id)
    if s.port is not None:
        return ("port", s.port, s.protocol or "tcp")
    return ("protocol", s.protocol or "")


def rank_suspects(outage: Outage, activity: Sequence[ActivityEvent], health: Sequence[HealthEvent] = (), *,
                  lookback_s: float | None = DEFAULT_LOOKBACK_S) -> list[Suspect]:
    """The core correlator: every port and check touched in the window, the one touched last
    before the failure first. Score = 1/(1+rank) by recency of the last touch, halved for a
    check that had already finished while the device was still seen up. `lookback_s` None:
    `activity` is already the window (as the hook receives it)."""
    if lookback_s is None:
        window = sorted((e for e in activity if e.host == outage.host and e.time <= outage.start), key=lambda e: e.time)
    else:
        window = events_in_window(outage, activity, lookback_s)
    lost = first_lost(window)
    # the probe in flight when the scanner lost the service is touched last; what came after is aftermath
    events = [e for e in before_loss(window) if e.kind in ACTIVE_KINDS or e.kind in ("finish", "lost")]
    last_touch: dict[tuple, ActivityEvent] = {}
    finished: dict[tuple, datetime] = {}
    for e in events:
        key = suspect_key(e)
        if key == ("protocol", ""):
            continue
        if e.kind == "finish":
            finished[key] = e.time
        else:
            last_touch[key] = e
            finished.pop(key, None)  # started again after finishing: active
    ordered = sorted(last_touch.items(), key=lambda kv: kv[1].time, reverse=True)
    out: list[Suspect] = []
    for rank, (key, e) in enumerate(ordered):
        score = 1.0 / (1 + rank)
        reason = "touched last before the failure" if rank == 0 else f"touched {rank + 1}. last before the failure"
        if lost is not None and e is lost:
            reason = "in flight when the scanner lost the service" + (f" (probe {e.probe})" if e.probe else "")
        done = finished.get(key)
        if done is not None and outage.last_up is not None and done <= outage.last_up:
            score /= 2  # it finished and the device was seen alive after
            reason += "; it had finished while the device was still up"
        out.append(Suspect(host=outage.host, port=e.port, protocol=e.protocol, check_id=e.check_id,
                           check_name=e.check_name, probe=e.probe, phase=e.phase, score=round(score, 6), reason=reason,
                           source="core"))
    return sorted(out, key=lambda s: -s.score)


def _peak(active: Sequence[ActivityEvent]) -> int:
    peak, lo = 0, 0
    for hi, e in enumerate(active):
        while e.time - active[lo].time > timedelta(seconds=1):
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak


def burst_of(events: Sequence[ActivityEvent], alive_until: datetime | None = None) -> Burst:
    """Probes, distinct targets and the peak number of probes within any one second; with
    `alive_until` (the last health observation that saw the device up), also the peak the device
    is known to have survived."""
    active = sorted((e for e in events if e.kind in ACTIVE_KINDS), key=lambda e: e.time)
    keys = {suspect_key(e) for e in active} - {("protocol", "")}
    alive = _peak([e for e in active if e.time <= alive_until]) if alive_until is not None else 0
    return Burst(probes=len(active), distinct=len(keys), peak_per_second=float(_peak(active)),
                 alive_peak_per_second=float(alive),
                 first=active[0].time if active else None, last=active[-1].time if active else None)


# -- many runs -----------------------------------------------------------------------------------
def with_zone(events: Iterable[ActivityEvent], tz: tzinfo = timezone.utc) -> tuple[ActivityEvent, ...]:
    """Events whose times carry no time zone (logs written in the scanner's local time, such as
    nessusd.messages) placed in `tz`, so they compare with the health timeline."""
    return tuple(e if e.time.tzinfo is not None else e.model_copy(update={"time": e.time.replace(tzinfo=tz)})
                 for e in events)


def observe(runs: Sequence[ScanRun], *, plugins: "PluginManager | None" = None,
            lookback_s: float = DEFAULT_LOOKBACK_S, activity_tz: tzinfo = timezone.utc) -> list[Observation]:
    """Every outage of every run with its ranked suspects. With `plugins`, suspects come from
    every ``scanguard_correlate`` implementation (the built-in one gives the core ranking);
    without, from :func:`rank_suspects` alone. Activity times without a zone are in
    `activity_tz`."""
    from .health import outages as find_outages

    out: list[Observation] = []
    for i, run in enumerate(runs):
        activity = with_zone(run.activity, activity_tz)
        for outage in find_outages(run.health):
            window = events_in_window(outage, activity, lookback_s)
            host_health = tuple(h for h in run.health if h.host == outage.host)
            if plugins is not None:
                raw = plugins.correlate(outage, tuple(window), host_health)
            else:
                raw = rank_suspects(outage, window, host_health, lookback_s=lookback_s)
            lo, hi = window_of(outage, lookback_s)
            out.append(Observation(run=i, run_label=run.label or f"run {i + 1}", outage=outage, window_start=lo,
                                   window_end=hi, events=tuple(window), suspects=tuple(merge_suspects(raw)),
                                   burst=burst_of(before_loss(window), outage.last_up)))
    return out


def merge_suspects(suspects: Iterable[Suspect]) -> list[Suspect]:
    """One suspect per key (the best score wins; the sources that named it are joined), best
    first."""
    groups: dict[tuple, list[Suspect]] = {}
    for s in suspects:
        groups.setdefault(suspect_key(s), []).append(s)
    merged = []
    for group in groups.values():
        best = max(group, key=lambda s: s.score)
        merged.append(best.model_copy(update={"source": "+".join(sorted({s.source for s in group}))}))
    return sorted(merged, key=lambda s: (-s.score, str(suspect_key(s))))


def correlate(runs: Sequence[ScanRun], *, plugins: "PluginManager | None" = None,
              workspace: "Workspace | None" = None, check_kinds: Mapping[str, str] | None = None,
              lookback_s: float = DEFAULT_LOOKBACK_S, slack_s: float = DEFAULT_SLACK_S,
              burst_min_distinct: int = BURST_MIN_DISTINCT, burst_min_rate: float = BURST_MIN_RATE,
              activity_tz: tzinfo = timezone.utc) -> CorrelationReport:
    """Findings for every host that went down in any run.

    :param runs: one or more scans with their health timelines (``ScanRun.health``; repeat a
        scan to confirm).
    :param plugins: where extra correlators come from (``scanguard_correlate``).
    :param workspace: names the device (profile) that owns each host in findings and proposals.
    :param check_kinds: vendor name -> the kind of its single-check ids (``nessus`` ->
        ``plugin``); see :func:`check_kind_of`. Without one, ``check``.
    :param slack_s: see :func:`candidates`: what counts as "at the failure" for confirmation.
    :param activity_tz: the zone of activity times logged without one (default UTC).
    """
    observations = observe(runs, plugins=plugins, lookback_s=lookback_s, activity_tz=activity_tz)
    by_host: dict[str, list[Observation]] = {}
    for ob in observations:
        by_host.setdefault(ob.outage.host, []).append(ob)
    findings: list[Finding] = []
    for host in sorted(by_host):
        obs = by_host[host]
        profile = _owner(workspace, host)
        findings += _host_findings(host, obs, runs, profile, check_kinds or {}, burst_min_distinct, burst_min_rate,
                                   slack_s)
    # conclusions already confirmed by repeated runs first
    findings.sort(key=lambda f: (-f.confidence, f.host or ""))
    return CorrelationReport(observations=tuple(observations), findings=tuple(findings))


def candidates(ob: Observation, slack_s: float = DEFAULT_SLACK_S) -> list[tuple]:
    """The keys placed to have caused an outage: touched between `slack_s` before the last up
    observation and the first down one (the health probe cannot see the instant of death), and
    always the top suspect (a plugin's suspect or a device that took longer to die)."""
    anchor = ob.outage.last_up or ob.outage.start
    lo = anchor - timedelta(seconds=slack_s)
    keys = [suspect_key(e) for e in before_loss(ob.events) if e.kind in ACTIVE_KINDS | {"lost"} and e.time >= lo]
    top = ob.top()
    if top is not None:
        keys.append(suspect_key(top))
    return list(dict.fromkeys(k for k in keys if k != ("protocol", "")))


def _key_text(key: tuple) -> str:
    if key[0] == "check":
        return f"check {key[1]}"
    if key[0] == "port":
        return f"{key[1]}/{key[2]}"
    return str(key[1] or "?")


def _host_findings(host: str, obs: list[Observation], runs: Sequence[ScanRun], profile: str | None,
                   check_kinds: Mapping[str, str], min_distinct: int, min_rate: float,
                   slack_s: float = 1.0) -> list[Finding]:
    total = len(obs)
    zones = [candidates(ob, slack_s) for ob in obs]
    common = set(zones[0]).intersection(*zones[1:]) if zones else set()
    # the failure sits at the same spot in every run: one key common to every run's candidates
    confirmed = total >= 2 and len(common) == 1
    tops = [ob.top() for ob in obs]
    if confirmed:
        best_key = next(iter(common))
    else:
        counts: dict[tuple, int] = {}
        for t in tops:
            if t is not None:
                counts[suspect_key(t)] = counts.get(suspect_key(t), 0) + 1
        best_key = max(counts, key=lambda k: counts[k]) if counts else None
    seen = sum(1 for z in zones if best_key in z) if best_key else 0
    bursty = [ob for ob in obs if ob.burst.is_burst(min_distinct, min_rate)]
    out: list[Finding] = []

    if best_key is not None and (confirmed or not (total >= 2 and len(bursty) == total)):
        top = next(s for ob in obs for s in ob.suspects if suspect_key(s) == best_key)
        top = top.model_copy(update={"runs_seen": seen, "runs_total": total, "confirmed": confirmed})
        others = sorted({_key_text(k) for z in zones for k in z if k != best_key})
        if confirmed:
            confidence = min(0.95, 0.6 + 0.15 * (total - 1))
        elif total == 1:
            # several ports/checks touched between the last up and the first down observation
            # are equally placed to be the cause: only a rerun in another order tells them apart
            confidence = 0.3 if bursty else (0.6 if not others else 0.45)
        else:
            confidence = round(0.4 * seen / total, 3)  # the runs disagree: a weak lead at best
        if others and not confirmed:
            top = top.model_copy(update={"reason": f"{top.reason}; also near the failure: {', '.join(others[:5])}"
                                                   + (" ..." if len(others) > 5 else "")})
        evidence = _evidence_for(top, obs)
        what = _describe(top)
        vendor = _vendor_of(top, obs)
        proposal = _exclusion(top, profile, vendor, check_kinds, evidence, seen, total)
        status = (f"confirmed in {seen} of {total} runs" if confirmed
                  else f"near the failure in {seen} of {total} run(s); rerun in another order to confirm")
        out.append(Finding(
            title=f"{what} {'takes' if confirmed else 'may take'} down {host}",
            severity="high" if confirmed else "medium", host=host, device=profile,
            description=f"{what} was the last activity on {host} before it went down ({status}): "
                        f"{top.reason} (source: {top.source}).",
            evidence=evidence, confidence=confidence, proposal=proposal, suspect=top,
        ))

    if bursty and not confirmed:
        why = ("no single port or check was last before the failure in every run"
               if total >= 2 else "a burst of probes with no single suspect standing out")
        out.append(rate_finding(host, bursty, total, profile, why))
    return out


def rate_finding(host: str, bursty: Sequence[Observation], total: int, profile: str | None, why: str) -> Finding:
    """The finding that the scan rate takes `host` down, from the outages that came in a burst
    (`bursty`, of `total` outages), with a rate limit well below what it did not survive."""
    observed = min(ob.burst.peak_per_second for ob in bursty)
    survived = min(ob.burst.alive_peak_per_second for ob in bursty)
    # the peak over the whole window counts probes sent after the device had already died, so it
    # overstates what kills it: cap at half the rate it was seen surviving, or an eighth of the peak
    limit = max(1, int(survived // 2) if survived >= 2 else int(observed // 8))
    confidence = 0.7 if (total >= 2 and len(bursty) == total) else 0.4
    evidence = tuple(
        f"{ob.run_label}: {ob.burst.probes} probes to {ob.burst.distinct} ports/checks, peak "
        f"{ob.burst.peak_per_second:g}/s, between {_t(ob.burst.first)} and {_t(ob.burst.last)}; "
        f"down at {_t(ob.outage.start)}" for ob in bursty
    )
    return Finding(
        title=f"Scan rate takes down {host}", severity="high" if confidence >= 0.7 else "medium", host=host,
        device=profile,
        description=f"{host} went down during a burst of {observed:g} probes per second; {why}. "
                    f"Proposed: at most {limit} packets per second (half the highest rate it was seen surviving; "
                    f"an eighth of the peak when it was never seen up during the burst).",
        evidence=evidence, confidence=confidence,
        proposal=ProfileChange(profile=profile, kind="rate", packets_per_second=limit,
                               reason=f"{host} went down under {observed:g} probes/s ({why}); "
                                      f"capped well below it by scanguard correlate",
                               evidence=evidence),
    )


def _describe(s: Suspect) -> str:
    if s.check_id:
        return f"Check {s.check_id}" + (f" ({s.check_name})" if s.check_name and s.check_name != s.check_id else "")
    if s.probe and s.port is not None:
        return f"Probe {s.probe} on port {s.port}/{s.protocol or 'tcp'}"
    if s.port is not None:
        return f"Port {s.port}/{s.protocol or 'tcp'}"
    return f"{(s.protocol or 'unknown').upper()} probing"


def _vendor_of(s: Suspect, obs: list[Observation]) -> str:
    key = suspect_key(s)
    for ob in obs:
        for e in reversed(ob.events):
            if suspect_key(e) == key and e.vendor:
                return e.vendor
    return ""


def _evidence_for(s: Suspect, obs: list[Observation]) -> tuple[str, ...]:
    key = suspect_key(s)
    out = []
    for ob in obs:
        cause = before_loss(ob.events)
        last = next((e for e in reversed(cause) if replay_key(e) == replay_key(s) and e.kind in ACTIVE_KINDS), None) \
            or next((e for e in reversed(cause) if suspect_key(e) == key and e.kind in ACTIVE_KINDS), None)
        up = f", last up {_t(ob.outage.last_up)}" if ob.outage.last_up else ""
        if last is not None:
            out.append(f"{ob.run_label}: {_t(last.time)} {last.phase} {last.kind}: {last.detail or _describe(s)}"
                       f" -> {ob.outage.host} down at {_t(ob.outage.start)}{up}")
        else:
            top = ob.top()
            out.append(f"{ob.run_label}: {ob.outage.host} down at {_t(ob.outage.start)}{up}; last activity "
                       f"{_describe(top) if top else 'none'}")
    return tuple(out)


def _exclusion(s: Suspect, profile: str | None, vendor: str, check_kinds: Mapping[str, str],
               evidence: tuple[str, ...], seen: int, total: int) -> ProfileChange | None:
    how = f"last activity before {s.host} went down in {seen} of {total} run(s) (scanguard correlate)"
    if s.check_id:
        kind = check_kinds.get(vendor, "check")
        return ProfileChange(profile=profile, kind="excluded_check",
                             check=VendorCheck(vendor=vendor or "unknown", kind=kind, id=s.check_id),
                             reason=f"{_describe(s)}: {how}", evidence=evidence)
    if s.port is not None and (s.protocol or "tcp") in ("tcp", "udp"):
        # no scanner can leave out one probe of its service detection: the port goes
        why = "; a single probe cannot be left out, so the port is excluded" if s.probe else ""
        return ProfileChange(profile=profile, kind="excluded_port",
                             ports=PortSet.parse(f"{s.port}/{s.protocol or 'tcp'}"),
                             reason=f"{_describe(s)}: {how}{why}", evidence=evidence)
    return None  # ICMP/ARP: a discovery limit, which a ProfileChange cannot express yet


# -- one probe at a time: what a trial replays to confirm a payload ------------------------------------
def replay_key(s: Suspect | ActivityEvent) -> tuple:
    """What one replay sends: a check or a named probe on a port, or a bare connect to it."""
    return (s.port, s.protocol or "tcp", s.check_id, s.probe)


def in_flight(ob: Observation, slack_s: float = DEFAULT_SLACK_S) -> list[Suspect]:
    """The payloads placed to have caused one outage, each on its port, the likeliest first: the
    probe in flight when the scanner lost the service (a ``lost`` signal), then what was sent
    after the device was last seen up, oldest first (the killer comes before its aftermath), then
    what was sent just before that, newest first. Replaying them one at a time, the first that
    takes the device down again is the cause. Only what was sent to a port can be replayed."""
    anchor = ob.outage.last_up or ob.outage.start
    lo = anchor - timedelta(seconds=slack_s)
    events = [e for e in before_loss(ob.events) if e.port is not None and e.time >= lo]
    lost = first_lost(ob.events)
    after = [e for e in events if e.kind in PAYLOAD_KINDS and e.time > anchor]
    before = [e for e in reversed(events) if e.kind in PAYLOAD_KINDS and e.time <= anchor]
    ordered = ([lost] if lost is not None else []) + after + before
    out: dict[tuple, Suspect] = {}
    for rank, e in enumerate(ordered):
        key = replay_key(e)
        if key in out:
            continue
        why = ("in flight when the scanner lost the service" if e is lost
               else "sent after the device was last seen up" if e.time > anchor
               else "sent just before the device was last seen up")
        out[key] = Suspect(host=ob.outage.host, port=e.port, protocol=e.protocol, check_id=e.check_id,
                           check_name=e.check_name, probe=e.probe, phase=e.phase, score=round(1.0 / (1 + len(out)), 6),
                           reason=why, source="in-flight")
    return list(out.values())


def replay_finding(suspect: Suspect, original: Sequence[Observation], replay: Observation, *,
                   profile: str | None = None, vendor: str = "", check_kinds: Mapping[str, str] | None = None,
                   replays_survived: Sequence[Suspect] = ()) -> Finding:
    """The finding of a payload confirmed by replay: `suspect` sent alone to its port took the
    device down again (`replay`, the outage of that replay), after it had gone down in the
    `original` run(s). `replays_survived` are the suspects replayed before it that it survived."""
    host = suspect.host
    what = _describe(suspect)
    top = suspect.model_copy(update={"runs_seen": len(original) + 1, "runs_total": len(original) + 1,
                                     "confirmed": True, "score": 1.0})
    evidence = _evidence_for(top, [*original, replay])
    if replays_survived:
        evidence += (f"replayed alone first, survived: {', '.join(_describe(s) for s in replays_survived)}",)
    proposal = _exclusion(top, profile, vendor, check_kinds or {}, evidence, len(original) + 1, len(original) + 1)
    if proposal is not None:
        proposal = proposal.model_copy(update={
            "reason": f"{what}: took {host} down in a scan and again when sent alone (scanguard trial)"
                      + ("; a single probe cannot be left out, so the port is excluded"
                         if suspect.probe and not suspect.check_id else "")})
    return Finding(
        title=f"{what} takes down {host}", severity="high", host=host, device=profile,
        description=f"{what} was in flight when {host} went down ({suspect.reason}); sent again alone, it "
                    "took the device down again: confirmed.",
        evidence=evidence, confidence=0.9, proposal=proposal, suspect=top,
    )


def _owner(workspace: "Workspace | None", host: str) -> str | None:
    if workspace is None:
        return None
    for p in workspace.profiles:
        try:
            if host in p.addresses():
                return p.id
        except ValueError:
            continue
    return None


def _t(t: datetime | None) -> str:
    return t.isoformat(timespec="milliseconds") if t else "?"


def check_kind_of(vendor: "Vendor") -> str:
    """The kind of a vendor's single-check ids, from the kinds its record declares."""
    for k in PREFERRED_CHECK_KINDS:
        if k in vendor.check_kinds:
            return k
    return sorted(vendor.check_kinds)[0] if vendor.check_kinds else "check"
