"""A trial never claims more than it tested: each stage is estimated before it starts, one that
cannot finish in its time limit is refused with a port list that fits, and a stage cut short is
incomplete with its coverage, never passed, and never leaves a low residual risk."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scanguard import PortSet, load_workspace
from scanguard.cli.app import app
from scanguard.scorecard import build_scorecard
from scanguard.testbed import load_personality, run_device
from scanguard.trial.loopback import foreign_listeners
from scanguard.trial import Coverage, TrialOverrun, can_raw_scan, preflight, run_trial
from scanguard.trial.stages import UNLIMITED_PROBES_PER_S, plan_stage, ports_that_fit, seconds_per_probe

from .conftest import MACHINE_LISTENERS, needs_nmap, quick

runner = CliRunner()
RATE_20 = ("constraints:\n  rate:\n    packets_per_second: 20\n"
           "    reason: the cycle time stretches above 20 packets a second\n")
needs_root = pytest.mark.skipif(not can_raw_scan(), reason="the SYN survey needs raw sockets (root)")


def _survey_plan(ws, survey: str):
    prof = ws.profiles[0]
    [plan] = plan_stage("discovery-syn", target="127.0.0.221", constraints=prof.lattice(), profile=prof.id,
                        survey=PortSet.parse(survey), ping_ports=PortSet(), open_ports=())
    return plan


def test_a_scans_pace_is_its_rate_or_its_delay_whichever_is_slower(lab):
    plan = _survey_plan(load_workspace(lab("lab-plc", "127.0.0.221", RATE_20)), "1-100")

    assert seconds_per_probe(plan.compiled.template) == pytest.approx(1 / 20)
    slower = plan.compiled.template.model_copy(update={"performance": plan.compiled.template.performance.model_copy(
        update={"probe_delay_ms": 250})})
    assert seconds_per_probe(slower) == pytest.approx(0.25)
    unlimited = plan.compiled.template.model_copy(update={"performance": plan.compiled.template.performance.model_copy(
        update={"packets_per_second": None})})
    assert seconds_per_probe(unlimited) == pytest.approx(1 / UNLIMITED_PROBES_PER_S)


def test_the_ports_that_fit_keep_the_devices_known_ports_and_fill_up_with_the_lowest(lab):
    plan = _survey_plan(load_workspace(lab("lab-plc", "127.0.0.221", RATE_20)), "1-65535")

    fits = ports_that_fit(PortSet.parse("1-65535"), plan, limit_s=10, keep=PortSet.parse("7100,502"))
    assert len(fits.tcp) == 160  # 80% of 10 s at 20 probes a second
    assert fits.contains(7100) and fits.contains(502) and fits.contains(1) and not fits.contains(1000)


def test_coverage_says_how_much_of_the_plan_was_covered():
    assert Coverage(done=98, planned=65535).text() == "98 of 65535 ports (0.15%)"
    assert not Coverage(done=98, planned=65535).complete and Coverage(done=3, planned=3).complete


def every_port_but_the_machines(address: str) -> int:
    """The ports a survey of 1-65535 plans on `address`: every one but those the machine's own
    listeners hold there (a trial never probes them)."""
    return 65535 - len(foreign_listeners(address, None))


@needs_root
@pytest.mark.xdist_group(MACHINE_LISTENERS)
def test_a_survey_that_cannot_finish_in_its_limit_is_refused_before_a_packet_is_sent(lab):
    root = lab("lab-plc", "127.0.0.221", RATE_20)  # nothing listens there: the refusal comes first
    planned = every_port_but_the_machines("127.0.0.221")
    r = runner.invoke(app, ["trial", "--profile", "lab-plc", "--target", "127.0.0.221", "--heartbeat", "502",
                            "--stages", "discovery-syn,service", "--workspace", str(root)])

    assert r.exit_code == 2, r.output
    assert f"discovery-syn: {planned} probe(s) at 20 packets/s take about 54.6 min (limit 2 min)" in r.output
    assert "--ports 1-1920" in r.output and "--allow-incomplete" in r.output


@needs_root
@pytest.mark.xdist_group(MACHINE_LISTENERS)
def test_the_api_refuses_it_too_unless_told_to_run_it_incomplete(lab):
    ws = load_workspace(lab("lab-plc", "127.0.0.221", RATE_20))
    opts = quick(502, stages=("discovery-syn",), survey_ports=PortSet.parse("1-65535"))

    with pytest.raises(TrialOverrun) as refused:
        preflight(ws.profiles[0], "127.0.0.221", opts)
    assert refused.value.exit_code == 2
    [estimate] = preflight(ws.profiles[0], "127.0.0.221", opts.model_copy(update={"allow_incomplete": True}))
    assert not estimate.fits and estimate.fits_ports is not None


@needs_root
@needs_nmap[0]
@needs_nmap[1]
@pytest.mark.xdist_group(MACHINE_LISTENERS)
def test_a_survey_cut_short_is_incomplete_with_its_coverage_and_never_a_low_risk(lab, nmap_vendor, tmp_path):
    root = lab("lab-plc", "127.0.0.222", RATE_20)
    planned = every_port_but_the_machines("127.0.0.222")
    ws = load_workspace(root)
    with run_device(load_personality("plc").with_recovery(delay_s=0.5), "127.0.0.222") as dev:
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t", reset=dev.reset,
                           options=quick(dev.heartbeat_port, stages=("discovery-syn",), stage_timeout_s=3,
                                         survey_ports=PortSet.parse("1-65535"), allow_incomplete=True))

    [survey] = result.stages
    assert survey.status == "incomplete" and survey.runs[0].timed_out
    assert survey.coverage.planned == planned and 0 < survey.coverage.done < 1000
    assert result.outcome == "inconclusive" and "untested" in result.summary
    card = build_scorecard(ws, result)
    assert card.risk_level != "low"
    assert any("cut short after" in line and "untested" in line for line in card.residual_risk)


@needs_nmap[0]
@needs_nmap[1]
def test_checks_cut_short_on_a_port_leave_the_stage_incomplete(lab, nmap_vendor, tmp_path):
    extra = ("fingerprint:\n  open_ports: [443/tcp]\nconstraints:\n  excluded_ports:\n    - ports: 7100/tcp\n"
             "      reason: it hangs the terminal\n")
    ws = load_workspace(lab("lab-terminal", "127.0.0.223", extra))
    with run_device(load_personality("payment-terminal"), "127.0.0.223") as dev:
        # the terminal's https port keeps a connection open and says nothing: version detection
        # alone takes minutes there
        result = run_trial(ws.profiles[0], dev.address, nmap_vendor, out_dir=tmp_path / "t", reset=dev.reset,
                           options=quick(dev.heartbeat_port, stages=("vulnerability",), vulnerability_timeout_s=3))

    [checks] = result.stages
    assert checks.status == "incomplete" and checks.coverage == Coverage(done=0, planned=1)
    assert result.outcome == "inconclusive"
    assert build_scorecard(ws, result).risk_level != "low"


@needs_nmap[0]
@needs_nmap[1]
def test_the_cli_exits_1_for_an_inconclusive_trial(lab, tmp_path):
    extra = "constraints:\n  excluded_ports:\n    - ports: 7100/tcp\n      reason: it hangs the terminal\n"
    root = lab("lab-terminal", "127.0.0.224", extra)
    r = runner.invoke(app, ["trial", "--profile", "lab-terminal", "--target", "127.0.0.224", "--testbed",
                            "payment-terminal", "--stages", "service,vulnerability", "--heartbeat", "443",
                            "--interval", "0.1", "--vuln-timeout", "3", "--json", "--workspace", str(root)])

    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)["trial"]
    assert doc["outcome"] == "inconclusive"
    assert [s["status"] for s in doc["stages"]] == ["passed", "incomplete"]
    assert doc["stages"][1]["coverage"] == {"done": 0, "planned": 1, "unit": "ports"}
