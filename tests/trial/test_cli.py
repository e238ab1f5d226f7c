"""`scanguard trial` and `scanguard scorecard` end to end: exit codes, refusal of non-loopback
targets, and the owner's scorecard in every format."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from scanguard.cli.app import app

from .conftest import needs_nmap

runner = CliRunner()
QUICK = ["--interval", "0.1", "--ports", "1-600,7090-7110", "--vuln-timeout", "5"]


def test_a_target_outside_loopback_is_refused(lab):
    root = lab("lab-terminal", "127.0.0.210")
    r = runner.invoke(app, ["trial", "--profile", "lab-terminal", "--target", "10.20.50.7", "--workspace", str(root)])
    assert r.exit_code == 2
    assert "loopback" in r.output and "--allow-non-loopback" in r.output


def test_a_scorecard_without_a_trial_says_so(lab):
    root = lab("lab-terminal", "127.0.0.211")
    r = runner.invoke(app, ["scorecard", "lab-terminal", "--workspace", str(root)])
    assert r.exit_code == 2 and "no trial" in r.output


@needs_nmap[0]
@needs_nmap[1]
def test_a_failed_trial_exits_3_and_its_scorecard_tells_the_owner_everything(lab, tmp_path):
    root = lab("lab-terminal", "127.0.0.212")
    r = runner.invoke(app, ["trial", "--profile", "lab-terminal", "--target", "127.0.0.212", "--testbed",
                            "payment-terminal", "--reboot-delay", "0.5", "--stages", "discovery-syn,service,speed",
                            "--apply", "--workspace", str(root), *QUICK])
    assert r.exit_code == 3, r.output
    assert "7100" in (root / "profiles" / "lab-terminal.yaml").read_text()  # --apply wrote the exclusion
    html = tmp_path / "card.html"
    r = runner.invoke(app, ["scorecard", "lab-terminal", "--out", str(html), "--workspace", str(root)])
    assert r.exit_code == 0, r.output
    page = html.read_text()
    for text in ("Service evaluation, port by port", "Port 7100/tcp takes down 127.0.0.212", "came-back",
                 "Exclusions now in force", "7100/tcp", "nmap-lab", "Residual risk", "data:image/png;base64,"):
        assert text in page
    # the device name is escaped, never markup
    assert "<b>&amp;</b>" not in page and "&lt;b&gt;" in page
    md = tmp_path / "card.md"
    r = runner.invoke(app, ["scorecard", "lab-terminal", "--format", "md", "--out", str(md), "--workspace", str(root)])
    assert r.exit_code == 0
    text = md.read_text()
    assert "Port 7100/tcp takes down" in text and "fragile-safe@lab-terminal-group" in text and "card.png" in text
    assert (tmp_path / "card.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(app, ["scorecard", "lab-terminal", "--format", "json", "--workspace", str(root)])
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["trial"]["outcome"] == "failed"
    assert doc["trial"]["stages"][1]["status"] == "failed"
    assert any(e["item"] == "7100/tcp" and "nmap-lab" in e["scanners"] for e in doc["exclusions"])
    assert doc["residual_risk"] and doc["risk_level"] in ("medium", "high")


@needs_nmap[0]
@needs_nmap[1]
def test_a_device_that_survives_exits_0_with_an_all_pass_scorecard(lab, tmp_path):
    extra = ("constraints:\n  excluded_ports:\n    - ports: 7100/tcp\n      reason: it hangs the terminal\n"
             "      evidence: [INC-1]\n")
    root = lab("lab-terminal", "127.0.0.213", extra)
    r = runner.invoke(app, ["trial", "--profile", "lab-terminal", "--target", "127.0.0.213", "--testbed",
                            "payment-terminal", "--stages", "discovery-syn,discovery-connect,service,speed",
                            "--json", "--workspace", str(root), *QUICK])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["trial"]["outcome"] == "survived"
    assert {s["status"] for s in doc["trial"]["stages"]} == {"passed"}
    r = runner.invoke(app, ["scorecard", "lab-terminal", "--format", "json", "--workspace", str(root)])
    card = json.loads(r.stdout)
    assert card["trial"]["findings"] == [] and card["risk_level"] == "low"
    assert any(e["item"] == "7100/tcp" for e in card["exclusions"])
