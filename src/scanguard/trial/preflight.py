"""Before a trial starts: may this device be tried at all, and can each stage finish within its
time limit? A trial that would be cut short says so before it sends a packet, with a port list
that fits, instead of claiming afterwards that "what ran was survived"."""

from __future__ import annotations

from datetime import date

from ..errors import UsageError
from ..model.base import Model
from ..model.ports import PortSet
from ..model.profile import DeviceProfile
from .stages import StagePlan, estimate_s, ports_that_fit, seconds_per_probe


class TrialOverrun(UsageError):
    """A stage cannot finish within its time limit at the device's rate (exit code 2): the
    message gives the estimate and a port list that fits."""


class StageEstimate(Model):
    """How long one scan of a stage takes at least, before it starts."""

    stage: str
    label: str
    probes: int
    seconds: float
    limit_s: float
    pace: str
    """"20 packets/s", "one probe every 250 ms", "unlimited (assumed 1000 probes/s)"."""
    fits_ports: PortSet | None = None
    """For a scan that does not fit: the TCP ports it could cover within its limit."""

    @property
    def fits(self) -> bool:
        """Whether it finishes within its time limit."""
        return self.seconds <= self.limit_s

    def text(self) -> str:
        """"discovery-syn: 65535 probes at 20 packets/s take about 54.6 min (limit 2 min)"."""
        return f"{self.label}: {self.probes} probe(s) at {self.pace} take about {duration(self.seconds)} " \
               f"(limit {duration(self.limit_s)})"


def duration(seconds: float) -> str:
    """"42 s", "3.5 min", "1.2 h"."""
    if seconds < 90:
        return f"{seconds:.3g} s"
    if seconds < 5400:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


def pace(plan: StagePlan) -> str:
    """The pace an estimate assumes, for people."""
    p = plan.compiled.template.performance
    if p.packets_per_second and (not p.probe_delay_ms or 1.0 / p.packets_per_second >= p.probe_delay_ms / 1000.0):
        return f"{p.packets_per_second} packets/s"
    if p.probe_delay_ms:
        return f"one probe every {p.probe_delay_ms} ms"
    return f"no rate limit (assumed {1.0 / seconds_per_probe(plan.compiled.template):g} probes/s)"


def estimate(plan: StagePlan, limit_s: float, survey: PortSet | None = None, keep: PortSet = PortSet()) -> StageEstimate:
    """The estimate of one scan; for one that does not fit, the ports of `survey` that would."""
    seconds = estimate_s(plan)
    fits = None
    if seconds > limit_s and survey is not None:
        fits = ports_that_fit(survey, plan, limit_s, keep)
    return StageEstimate(stage=plan.stage, label=plan.label, probes=plan.probes, seconds=round(seconds, 3),
                         limit_s=limit_s, pace=pace(plan), fits_ports=fits)


def overrun_message(over: list[StageEstimate]) -> str:
    """What a refused trial tells the user: each scan that would be cut short, and what to do."""
    lines = [f"{e.text()}: it would be cut short, and a trial never reports what it did not test" for e in over]
    proposals = [e.fits_ports for e in over if e.fits_ports]
    if proposals:
        lines.append(f"give --ports {_nmap_ports(proposals[0])} (fits the limit: the device's known ports first, "
                     "then the lowest), or raise --stage-timeout, or pass --allow-incomplete to run it anyway "
                     "(the stage then ends 'incomplete' with its coverage)")
    else:
        lines.append("raise --stage-timeout, or pass --allow-incomplete to run it anyway (the stage then ends "
                     "'incomplete' with its coverage)")
    return "\n".join(lines)


def _nmap_ports(ports: PortSet) -> str:
    return ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports.tcp.intervals)


def check_policy(profile: DeviceProfile, override: str | None, today: date | None = None) -> str:
    """Refuse (UsageError, exit 2) a trial of a device whose policy is ``never`` unless `override`
    names its risk acceptance (who accepted it, or its ticket) and that acceptance still holds.
    Returns the acceptance as text for the record ("" for other policies)."""
    if profile.policy != "never":
        return ""
    ra = profile.risk_acceptance
    assert ra is not None  # the profile model requires one for policy never
    named = f"accepted by {ra.accepted_by}" + (f", ticket {ra.ticket}" if ra.ticket else "")
    text = f"{named} on {ra.accepted_on}, until {ra.expires}: {ra.reason}"
    if not override:
        raise UsageError(
            f"{profile.id}: policy 'never' ({named}): this device must never be scanned, and a trial scans it. "
            f"To try it anyway in an isolated lab, name the risk acceptance: --accept-risk "
            f"'{ra.ticket or ra.accepted_by}'")
    wanted = {ra.accepted_by.strip().lower()} | ({ra.ticket.strip().lower()} if ra.ticket else set())
    if override.strip().lower() not in wanted:
        raise UsageError(f"{profile.id}: --accept-risk {override!r} does not name its risk acceptance ({named})")
    if ra.expired(today or date.today()):
        raise UsageError(f"{profile.id}: its risk acceptance ({named}) expired on {ra.expires}; renew it first")
    return text
