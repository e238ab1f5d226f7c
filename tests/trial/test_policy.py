"""A device whose policy is never is not tried, unless the user names the risk acceptance; its
scorecard never advises scanning it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from scanguard import UsageError, load_workspace
from scanguard.cli.app import app
from scanguard.trial import check_policy

from .conftest import needs_nmap

runner = CliRunner()
NEVER = ("risk_acceptance:\n  accepted_by: Dr. A. Weber\n  accepted_on: 2026-01-10\n  expires: 2099-01-10\n"
         "  reason: life support; cannot be taken out of service\n  compensating_controls: [ACL ICU-7]\n"
         "  ticket: RISK-2026-007\n")


def never(lab, host: str, expires: str = "2099-01-10"):
    root = lab("icu-monitor", host, NEVER.replace("2099-01-10", expires))
    path = root / "profiles" / "icu-monitor.yaml"
    path.write_text(path.read_text().replace("policy: restricted", "policy: never"))
    return root


def test_a_trial_of_a_never_device_is_refused_naming_the_acceptance_to_give(lab):
    root = never(lab, "127.0.0.228")
    r = runner.invoke(app, ["trial", "--profile", "icu-monitor", "--target", "127.0.0.228", "--testbed",
                            "patient-monitor", "--workspace", str(root)])

    assert r.exit_code == 2
    assert "policy 'never'" in r.output and "--accept-risk 'RISK-2026-007'" in r.output


def test_an_override_that_names_another_acceptance_is_refused(lab):
    root = never(lab, "127.0.0.228")
    r = runner.invoke(app, ["trial", "--profile", "icu-monitor", "--target", "127.0.0.228", "--testbed",
                            "patient-monitor", "--accept-risk", "someone else", "--workspace", str(root)])

    assert r.exit_code == 2 and "does not name its risk acceptance" in r.output


def test_an_expired_acceptance_is_no_override(lab):
    prof = load_workspace(never(lab, "127.0.0.228", expires="2026-02-01")).profiles[0]

    with pytest.raises(UsageError, match="expired on 2026-02-01"):
        check_policy(prof, "Dr. A. Weber", today=date(2026, 6, 1))
    assert "accepted by Dr. A. Weber" in check_policy(prof, "dr. a. weber", today=date(2026, 1, 20))


@needs_nmap[0]
@needs_nmap[1]
def test_with_the_acceptance_named_it_runs_and_its_scorecard_keeps_it_out_of_scans(lab):
    root = never(lab, "127.0.0.229")
    r = runner.invoke(app, ["trial", "--profile", "icu-monitor", "--target", "127.0.0.229", "--testbed",
                            "patient-monitor", "--accept-risk", "RISK-2026-007", "--stages", "discovery-connect",
                            "--interval", "0.1", "--json", "--workspace", str(root)])
    assert r.exit_code == 0, r.output
    assert "RISK-2026-007" in json.loads(r.stdout)["trial"]["risk_acceptance_override"]

    r = runner.invoke(app, ["scorecard", "icu-monitor", "--format", "json", "--workspace", str(root)])
    card = json.loads(r.stdout)
    assert card["risk_level"] != "low"
    assert any("policy is 'never'" in line for line in card["residual_risk"])
    assert not any("not expected to harm it" in line for line in card["residual_risk"])
