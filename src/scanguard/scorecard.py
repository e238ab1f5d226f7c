"""The device owner's scorecard of a trial: the device, the stages and their outcomes, what
failed and why, how it recovered, the exclusions now in force on which scanners, residual
risk and compensating controls, and a picture of health against scan activity.

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
    and on which scanners."""

    kind: str
    item: str
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
        ExclusionInForce(kind=k, item=i, reason=e["reason"], evidence=tuple(e["evidence"]),
                         templates=tuple(sorted(e["templates"])), scanners=tuple(sorted(e["scanners"])))
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
                     risk_acceptance=acceptance, residual_risk=risk, risk_level=level)


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
        else:
            text = f"excluded check {p.check.text() if p.check else p.category}"
            enforced = "excluded_checks" in kinds
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
    level = "low"
    if trial.outcome == "survived":
        lines.append("The device survived every stage of the trial with the profile as it was; scans within "
                     "these templates are not expected to harm it.")
    else:
        for text, enforced in _proposal_in_force(trial, exclusions):
            if enforced:
                lines.append(f"The cause found ({text}) is now excluded by every compiled template that targets "
                             "the device; scanners configured by hand outside scanguard could still probe it, "
                             "which sync reports as drift.")
                level = "medium" if level == "low" else level
            else:
                lines.append(f"The cause found ({text}) is NOT in force yet: apply the proposal "
                             "(`scanguard apply-proposal`) and sync, or every scan can take the device down again.")
                level = "high"
        if not trial.proposals:
            lines.append("The trial found a failure but no single cause to exclude; keep the device out of scans "
                         "until it is understood.")
            level = "high"
        failed = trial.failed_stage()
        if failed is not None:
            later = [s.title for s in trial.stages if s.status == "not-run"]
            if later:
                lines.append("Stages after the failure did not run (" + "; ".join(later) + "): their risk is "
                             "unknown until the trial is repeated with the exclusion in force.")
    if profile.scope != "everywhere" and trial.outcome == "failed":
        lines.append("The profile's scope is 'assets': templates aimed elsewhere do not honour these exclusions "
                     "if the device turns up unannounced; consider scope 'everywhere'.")
    return tuple(lines), level


# -- the picture ------------------------------------------------------------------------------------
def timeline_png(trial: TrialResult) -> bytes:
    """A PNG of the device's health (an up/down band) above the scan activity by port over time,
    outages shaded across both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from .health import outages

    fig, (ax_h, ax_a) = plt.subplots(2, 1, sharex=True, figsize=(10, 4.8),
                                     gridspec_kw={"height_ratios": [1, 3]}, constrained_layout=True)
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
    spans = outages(health)
    for o in spans:
        ax_a.axvspan(o.start, o.end or end, color="#c62828", alpha=0.15, lw=0)
    probes = [e for e in trial.activity if e.port is not None and e.host == trial.target]
    if probes:
        ax_a.scatter([e.time for e in probes], [e.port for e in probes], s=12, marker="|", color="#1565c0",
                     label="probe")
    else:
        ax_a.text(0.5, 0.5, "no port activity recorded", transform=ax_a.transAxes, ha="center")
    # the port a finding names, so the eye finds it among thousands of probes
    for f in trial.findings:
        if f.proposal is not None and f.proposal.ports is not None:
            for lo, _hi in f.proposal.ports.tcp.intervals:
                ax_a.axhline(lo, color="#c62828", lw=0.8, ls="--")
                ax_a.annotate(f"{f.title}", (0.5, lo), xycoords=("axes fraction", "data"),
                              xytext=(0, 3), textcoords="offset points", color="#c62828", fontsize=8)
    for s in trial.stages:
        if s.runs and s.runs[0].started is not None:
            ax_a.axvline(s.runs[0].started, color="#757575", lw=0.7, ls=":")
            ax_a.annotate(s.name, (s.runs[0].started, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                          va="top", ha="right", fontsize=7, color="#616161")
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
