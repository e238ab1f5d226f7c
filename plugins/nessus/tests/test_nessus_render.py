"""What the Nessus vendor renders for the example hospital: the policy document, and the files for
Nessus Professional (an importable policy and a nessusd.rules block)."""

import pytest

from scanguard import CannotEnforce, CompiledTemplate, ScanTemplate, compile_plan, load_workspace
from scanguard_nessus.plugin import NESSUS
from scanguard_tenable_policy import FORMAT, MANAGED_SETTINGS


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def _ct(**template) -> CompiledTemplate:
    return CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", **template))


def test_the_payload_is_the_shared_tenable_policy_document(plan):
    doc = NESSUS.render(plan.get("full-audit"))
    assert doc["format"] == FORMAT and doc["template"] == "advanced"
    assert tuple(doc["settings"]) == MANAGED_SETTINGS
    assert "uuid" not in doc  # the scanner's editor gives the uuid, not a constant


@pytest.mark.parametrize("name,why", [("full-audit@payment-terminals", "no packet rate"),
                                      ("full-audit@imaging", "between probes")])
def test_what_nessus_cannot_keep_is_refused(plan, name, why):
    with pytest.raises(CannotEnforce, match=why):
        NESSUS.render(plan.get(name))


def test_vendor_record():
    assert NESSUS.name == "nessus" and NESSUS.check_kinds == {"plugin", "family"}
    assert {"render", "parse", "client", "activity", "results", "artifacts"} <= NESSUS.capabilities


def test_artifacts_hold_a_policy_file_and_rules_for_exactly_its_devices(plan):
    ct = plan.get("full-audit@infusion")
    files = NESSUS.artifacts(ct)
    assert files[f"{ct.name}.policy.nessus"].startswith("<?xml")
    rules = [r for r in files[f"{ct.name}.nessusd.rules"].splitlines() if not r.startswith("#")]
    assert rules == ["reject 10.20.61.0/25:80", "reject 10.20.61.0/25:443"]


def test_a_template_excluding_single_plugins_gets_a_note_instead_of_a_policy_file():
    files = NESSUS.artifacts(_ct(checks={"excluded_vendor_checks": ["nessus:plugin:12345"]}))
    assert "t.policy.nessus" not in files and "12345" in files["t.policy.nessus.txt"]


def test_entry_point_registers_the_vendor():
    from scanguard.plugin.manager import load_plugins

    assert load_plugins().vendor("nessus").name == "nessus"
