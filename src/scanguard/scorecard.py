"""The device owner's scorecard of a trial: the device, the stages and their outcomes, what
failed and why, how it recovered, the exclusions now in force on which scanners, residual
risk and compensating controls, and a picture of health against scan activity.

It speaks to device owners: each finding in plain words (:func:`plain_reason`; the scanner's log
lines are kept apart, for the security team), each constraint with its value, a stage cut short
with how much it covered (and never a low residual risk), and in the picture only the traffic to
the device's own ports.

HTML and Markdown come from jinja2 templates (package data in ``templates_html/``; HTML
autoescaped, so device names and reasons cannot inject markup); the picture from matplotlib
(Agg), embedded in the HTML as base64 and written as a PNG file beside the Markdown.
"""

from __future__ import annotations

import base64
import io
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .model.base import Model
from .model.events import Finding
from .model.profile import DeviceProfile
from .trial.records import TrialResult

if TYPE_CHECKING:
    from .plugin.manager import PluginManager
    from .workspace import Workspace

TEMPLATES_DIR = Path(__file__).with_name("templates_html")
ScorecardFormat = Literal["html", "md", "json"]
SCORECARD_SCHEMA = 1


class ExclusionInForce(Model):
    """One constraint of the device as the compiled plan applies it: which templates carry it
    and on which scanners. `value` says it for people ("at most 20 packets per second")."""

    kind: str
    item: str
    value: str = ""
    reason: str
    evidence: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    scanners: tuple[str, ...] = ()


class Scorecard(Model):
    """Everything the owner's scorecard shows."""

    profile: str
    device_name: str
    vendor: str = ""
    model: str = ""
    category: str = ""
    owner: str = ""
    policy: str = ""
    trial: TrialResult
    exclusions: tuple[ExclusionInForce, ...] = ()
    compensating_controls: tuple[str, ...] = ()
    risk_acceptance: str = ""
    residual_risk: tuple[str, ...] = ()
    risk_level: Literal["low", "medium", "high"] = "low"
    reasons: tuple[str, ...] = ()
    """Each finding of the trial in plain words, in the order of `trial.findings`."""


def build_scorecard(ws: "Workspace", trial: TrialResult, plugins: "PluginManager | None" = None,
                    today: date | None = None) -> Scorecard:
    """Assemble the scorecard of `trial` from the workspace as it is now (the exclusions in
    force are those of the current compiled plan)."""
    from .compile import compile_plan

    profile = next((p for p in ws.profiles if p.id == trial.profile), None)
    if profile is None:
        profile = DeviceProfile(id=trial.profile, name=trial.device_name or trial.profile)
    plan = compile_plan(ws, plugins)
    found: dict[tuple[str, str], dict] = {}
    for ct in plan.templates:
        for prov in ct.provenance:
            if prov.profile != profile.id:
                continue
            entry = found.setdefault((prov.kind, prov.item), {"reason": prov.reason, "evidence": prov.evidence,
                                                              "templates": set(), "scanners": set()})
            entry["templates"].add(ct.name)
            entry["scanners"].update(ct.scanners)
    exclusions = tuple(
        ExclusionInForce(kind=k, item=i, value=constraint_value(profile, k, i), reason=e["reason"],
                         evidence=tuple(e["evidence"]), templates=tuple(sorted(e["templates"])),
                         scanners=tuple(sorted(e["scanners"])))
        for (k, i), e in sorted(found.items()))
    ra = profile.risk_acceptance
    controls = tuple(ra.compensating_controls) if ra else ()
    acceptance = ""
    if ra:
        state = "EXPIRED" if ra.expired(today or date.today()) else "valid"
        acceptance = f"accepted by {ra.accepted_by} on {ra.accepted_on}, until {ra.expires} ({state}): {ra.reason}"
    risk, level = _residual(trial, exclusions, profile)
    return Scorecard(profile=profile.id, device_name=profile.name, vendor=profile.vendor, model=profile.model,
                     category=profile.category, owner=(f"{profile.owner.team} <{profile.owner.contact}>"
                                                       if profile.owner else ""),
                     policy=profile.policy, trial=trial, exclusions=exclusions, compensating_controls=controls,
                     risk_acceptance=acceptance, residual_risk=risk, risk_level=level,
                     reasons=tuple(plain_reason(f, trial) for f in trial.findings))


RATE_WORDS = {
    "packets_per_second": "at most {} packets per second",
    "parallel_hosts": "at most {} hosts at once",
    "parallel_checks_per_host": "at most {} checks at once on one device",
    "probe_delay_ms": "at least {} ms between probes",
    "timeout_s": "waits of at most {} s",
}


def constraint_value(profile: DeviceProfile, kind: str, item: str) -> str:
    """A constraint of the profile said for people, with its value: "at most 20 packets per
    second", "ICMP forbidden", "ping ports 80/tcp"."""
    c = profile.constraints
    if kind == "rate" and c.rate is not None and item in RATE_WORDS:
        value = getattr(c.rate, item, None)
        return RATE_WORDS[item].format(value) if value is not None else ""
    if kind == "discovery" and c.discovery is not None:
        if item == "ping_ports" and c.discovery.ping_ports is not None:
            return f"liveness pings only to {c.discovery.ping_ports.text()}"
        words = {"icmp": "ICMP", "arp": "ARP", "tcp_ping": "TCP pings", "udp_ping": "UDP pings",
                 "syn_scan": "SYN scans", "udp_scan": "UDP port scans"}
        return f"no {words[item]}" if item in words else ""
    if kind == "excluded_ports":
        return f"never probe {item}"
    if kind == "excluded_checks":
        return f"never run {item.removeprefix('category:')}" + (" checks" if item.startswith("category:") else "")
    if kind == "safe_checks":
        return "only checks the scanner marks safe"
    if kind == "window":
        return f"scans only {item}"
    return ""


def plain_reason(f: Finding, trial: TrialResult) -> str:
    """A finding in words a device owner reads without a scanner's log: what the scanner was
    doing when the device stopped answering, and how the trial made sure."""
    s = f.suspect
    p = f.proposal
    if p is not None and p.kind == "rate":
        return (f"The device stopped answering while the scanner was sending many probes a second, and no single "
                f"port or check stood out. Scans of this device should send at most {p.packets_per_second} packets "
                "per second.")
    if s is None:
        return f"{f.title}. The trial could not single out one cause."
    port = f"port {s.port}/{s.protocol or 'tcp'}" if s.port is not None else "the device"
    if s.check_id:
        what = f"the scanner's check “{s.check_id}” was talking to {port}"
    elif s.probe:
        what = f"the scanner sent one of its service-identification probes (“{s.probe}”) to {port}"
    else:
        what = f"the scanner opened a connection to {port}"
    how = ("Sent again on its own, the same probe took the device down again, so it is the cause."
           if s.confirmed and s.source == "in-flight"
           else "A second run stopped at the same spot, so it is the cause." if s.confirmed
           else "Only one run stopped there: a rerun would confirm it.")
    fix = ""
    if p is not None and p.kind == "excluded_port" and p.ports is not None:
        fix = f" Scans of this device should leave {p.ports.text()} out."
    elif p is not None and p.kind == "excluded_check" and p.check is not None:
        fix = f" Scans of this device should leave the check {p.check.id} out."
    return f"The device stopped answering right after {what}. {how}{fix}"


def _proposal_in_force(trial: TrialResult, exclusions: tuple[ExclusionInForce, ...]) -> list[tuple[str, bool]]:
    """Each proposal of the trial, as text, and whether the plan now enforces it."""
    out = []
    kinds = {e.kind for e in exclusions}
    for p in trial.proposals:
        if p.kind == "excluded_port" and p.ports is not None:
            text = f"excluded port {p.ports.text()}"
            enforced = any(e.kind == "excluded_ports" and _covers(e.item, p.ports) for e in exclusions)
        elif p.kind == "rate":
            text = f"rate limit {p.packets_per_second} packets/s"
            enforced = "rate" in kinds
        elif p.kind == "excluded_check":
            text = f"excluded check {p.check.text() if p.check else p.category}"
            enforced = "excluded_checks" in kinds
        else:
            text, enforced = p.kind.replace("_", " "), False
        out.append((text, enforced))
    return out


def _covers(item: str, ports) -> bool:
    """Whether a provenance item such as "7100/tcp" covers every port of `ports`."""
    from .model.ports import PortSet

    try:
        return ports.issubset(PortSet.parse(item))
    except ValueError:
        return False


def _residual(trial: TrialResult, exclusions: tuple[ExclusionInForce, ...], profile: DeviceProfile) -> tuple[tuple[str, ...], str]:
    lines: list[str] = []
    order = ("low", "medium", "high")
    level = "low"

    def at_least(new: str) -> None:
        nonlocal level
        level = max(level, new, key=order.index)

    never = profile.policy == "never"
    if never:
        lines.append("The device's policy is 'never': it stays out of every scan whatever this trial found"
                     + (f"; the trial ran under its risk acceptance ({trial.risk_acceptance_override})"
                        if trial.risk_acceptance_override else "") + ".")
        at_least("medium")
    if trial.outcome == "survived":
        skipped = [s for s in trial.stages if s.status == "skipped"]
        if not never:
            lines.append("The device survived every stage of the trial that ran, with the profile as it was; scans "
                         "within these templates are not expected to harm it.")
        for s in skipped:
            lines.append(f"Not tested: {s.title} ({s.reason}).")
        if any(not s.reason.startswith("the profile forbids") and "excludes" not in s.reason for s in skipped):
            at_least("medium")
    for s in trial.incomplete_stages():
        covered = s.coverage.text() if s.coverage else "part of what it planned"
        lines.append(f"{s.title} was cut short after {covered}: the rest is untested, and the device may not "
                     "survive it.")
        at_least("medium")
    if trial.outcome == "failed":
        for text, enforced in _proposal_in_force(trial, exclusions):
            if enforced:
                lines.append(f"The cause found ({text}) is now excluded by every compiled template that targets "
                             "the device; scanners configured by hand outside scanguard could still probe it, "
                             "which sync reports as drift.")
                at_least("medium")
            else:
                lines.append(f"The cause found ({text}) is NOT in force yet: apply the proposal "
                             "(`scanguard apply-proposal`) and sync, or every scan can take the device down again.")
                at_least("high")
        if not trial.proposals:
            lines.append("The trial found a failure but no single cause to exclude; keep the device out of scans "
                         "until it is understood.")
            at_least("high")
        later = [s.title for s in trial.stages if s.status == "not-run"]
        if later:
            lines.append("Stages after the failure did not run (" + "; ".join(later) + "): their risk is unknown"
                         + ("." if never else " until the trial is repeated with the exclusion in force."))
            at_least("medium")
    if profile.scope != "everywhere" and trial.outcome == "failed":
        lines.append("The profile's scope is 'assets': templates aimed elsewhere do not honour these exclusions "
                     "if the device turns up unannounced; consider scope 'everywhere'.")
    return tuple(lines), level


# -- the picture ------------------------------------------------------------------------------------
def device_activity(trial: TrialResult) -> tuple[list, int]:
    """The activity drawn as the device's (probes and check starts to its address, on the ports
    the trial planned for it, or its own ports when known) and how many other events were left
    out (stray traffic: the scanner's own, other hosts, other ports)."""
    from .model.ports import PortSet

    ports = trial.device_ports
    if ports is None:
        ports = PortSet()
        for st in trial.stages:
            ports = ports | st.ports
    mine, stray = [], 0
    for e in trial.activity:
        if e.kind not in ("probe", "start"):
            continue
        proto = e.protocol if e.protocol in ("tcp", "udp") else "tcp"
        if e.host == trial.target and e.port is not None and ports.contains(e.port, proto):
            mine.append(e)
        else:
            stray += 1
    return mine, stray


def stage_lanes(trial: TrialResult) -> list[tuple[str, object, object, str]]:
    """One lane per stage that ran, in order: (label, first scan's start, last scan's end,
    status). The picture draws each on a row of its own, so labels never overlap."""
    lanes = []
    for st in trial.stages:
        if not st.runs or st.runs[0].started is None:
            continue
        first = st.runs[0].started
        last = max((r.finished or r.started or first) for r in st.runs)
        lanes.append((f"{st.name} ({st.status})", first, last, st.status))
    return lanes


def timeline_png(trial: TrialResult) -> bytes:
    """A PNG of the device's health (an up/down band), the stages (one row each, so their labels
    never overlap) and the scan activity on the device's own ports over time, outages shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from .health import outages

    ran = stage_lanes(trial)
    fig, (ax_h, ax_s, ax_a) = plt.subplots(
        3, 1, sharex=True, figsize=(10, 5.2 + 0.25 * len(ran)), constrained_layout=True,
        gridspec_kw={"height_ratios": [0.8, max(1.0, 0.45 * len(ran)), 3]})
    health = sorted(trial.health, key=lambda e: e.time)
    end = trial.finished or (health[-1].time if health else trial.started)
    if health:
        for a, b in zip(health, health[1:] + [None]):
            stop = b.time if b is not None else end
            colour = {"up": "#2e7d32", "down": "#c62828", "degraded": "#f9a825"}[a.state]
            ax_h.axvspan(a.time, stop, color=colour, lw=0)
    ax_h.set_yticks([])
    ax_h.set_ylabel("health", rotation=0, ha="right", va="center")
    ax_h.set_title(f"{trial.device_name or trial.profile} ({trial.target}): health against scan activity")
    colours = {"passed": "#2e7d32", "failed": "#c62828", "incomplete": "#8e24aa", "skipped": "#f9a825",
               "not-run": "#9e9e9e"}
    for row, (_label, first, last, status) in enumerate(ran):
        ax_s.barh(row, mdates.date2num(last) - mdates.date2num(first), left=mdates.date2num(first), height=0.6,
                  color=colours[status])
    ax_s.set_yticks(range(len(ran)), [label for label, *_ in ran], fontsize=8)
    ax_s.set_ylim(len(ran) - 0.5, -0.5)
    spans = outages(health)
    for o in spans:
        for ax in (ax_s, ax_a):
            ax.axvspan(o.start, o.end or end, color="#c62828", alpha=0.15, lw=0)
    probes, stray = device_activity(trial)
    if probes:
        ax_a.scatter([e.time for e in probes], [e.port for e in probes], s=12, marker="|", color="#1565c0",
                     label="probe")
    else:
        ax_a.text(0.5, 0.5, "no activity on the device's ports recorded", transform=ax_a.transAxes, ha="center")
    if stray:
        ax_a.text(0.01, 0.02, f"{stray} events of other traffic (other ports or hosts, the scanner's own) not drawn",
                  transform=ax_a.transAxes, fontsize=7, color="#616161")
    # the port a finding names, so the eye finds it among thousands of probes
    for f in trial.findings:
        if f.proposal is not None and f.proposal.ports is not None:
            for lo, _hi in f.proposal.ports.tcp.intervals:
                ax_a.axhline(lo, color="#c62828", lw=0.8, ls="--")
                ax_a.annotate(f"{f.title}", (0.5, lo), xycoords=("axes fraction", "data"),
                              xytext=(0, 3), textcoords="offset points", color="#c62828", fontsize=8)
    ax_a.set_ylabel("port probed")
    ax_a.set_xlabel("time (UTC)")
    ax_a.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    if spans:
        ax_a.legend(handles=[matplotlib.patches.Patch(color="#c62828", alpha=0.3, label="device down")],
                    loc="center right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# -- rendering --------------------------------------------------------------------------------------
def _env(html: bool):
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=html,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(card: Scorecard, png: bytes) -> str:
    """The scorecard as one self-contained HTML page (the picture embedded)."""
    return _env(True).get_template("scorecard.html.j2").render(
        card=card, trial=card.trial, png_b64=base64.b64encode(png).decode("ascii"))


def render_md(card: Scorecard, png_name: str) -> str:
    """The scorecard as Markdown, the picture referenced by file name."""
    return _env(False).get_template("scorecard.md.j2").render(card=card, trial=card.trial, png_name=png_name)


def scorecard_json(card: Scorecard) -> dict:
    """The scorecard as a JSON-ready document (timelines left out: they are in the state database)."""
    doc = card.model_dump(mode="json", exclude={"trial": {"health", "activity"}})
    return doc


def write_scorecard(card: Scorecard, fmt: ScorecardFormat, path: Path) -> list[Path]:
    """Write the scorecard in `fmt` to `path` (md also writes the PNG beside it); returns the files."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps({"schema_version": SCORECARD_SCHEMA, **scorecard_json(card)}, indent=2) + "\n",
                        encoding="utf-8")
        return [path]
    png = timeline_png(card.trial)
    if fmt == "html":
        path.write_text(render_html(card, png), encoding="utf-8")
        return [path]
    png_path = path.with_suffix(".png")
    png_path.write_bytes(png)
    path.write_text(render_md(card, png_path.name), encoding="utf-8")
    return [path, png_path]
