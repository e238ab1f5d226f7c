"""Reading Nessus policies back through the vendor: rendered documents, REST API documents, policy
files and the Policy section of real exports."""

import json

import pytest

from scanguard import CannotEnforce, PortSet, compile_plan, load_workspace, violations
from scanguard_nessus.plugin import NESSUS, document, parse


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


@pytest.mark.fixtures
def test_the_recorded_policy_details_alone_never_read_as_excluding_a_family(fixtures_dir, plan):
    """The recorded `GET /policies/{id}` has no family state: a policy verified from it alone
    would keep every family on. Fed the settings of our own safe rendering in that real shape,
    verification must find the category exclusions missing, never invent them."""
    ct = plan.get("full-audit@infusion")
    real = json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text())
    real["settings"].update(NESSUS.render(ct)["settings"])
    assert set(real) == {"settings", "uuid"}
    bad = violations(parse(real), ct.constraints, vendor="nessus")
    assert {"category:dos"} <= {p.item for v in bad for p in v.provenance}


@pytest.mark.fixtures
def test_recorded_policy_details_read_conservatively(fixtures_dir):
    t = parse(json.loads((fixtures_dir / "nessus" / "policy-details.json").read_text()))
    assert t.ports == PortSet.all()  # unscanned_closed "no": plugins may probe any port
    assert t.checks.safe_only and t.discovery.port_scan == "syn"
    assert (t.performance.parallel_checks_per_host, t.performance.parallel_hosts, t.performance.timeout_s) == (5, 30, 5)
    assert t.discovery.tcp_ping and t.discovery.ping_ports.tcp == PortSet.all().tcp  # "built-in" ping ports


@pytest.mark.fixtures
@pytest.mark.parametrize("name", ["basic-network-scan.nessus", "web-app-tests.nessus"])
def test_policy_section_of_real_exports(fixtures_dir, name):
    t = parse(fixtures_dir / "results" / "nessus" / name)
    assert t.checks.safe_only and t.ports == PortSet.all()


@pytest.mark.fixtures
def test_security_center_export_reads_its_spelled_out_range(fixtures_dir):
    t = parse(fixtures_dir / "tenablesc" / "sc_policy_export.nessus")
    assert t.name == "Example-Policy" and t.performance.parallel_hosts == 30


def test_every_example_policy_file_reads_like_its_document(plan):
    for ct in plan.for_scanner("nessus-main"):
        try:
            payload = NESSUS.render(ct)
        except CannotEnforce:
            continue
        from_json = parse(payload)
        from_xml = parse(NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"].encode())
        assert from_xml == from_json
        assert violations(from_json, ct.constraints, vendor="nessus") == []


def test_console_edits_read_back_as_less_safe(plan):
    ct = plan.get("full-audit@infusion")
    doc = NESSUS.render(ct)
    doc["settings"]["safe_checks"] = "no"
    doc["disabled_families"].remove("Denial of Service")
    kinds = {v.kind for v in violations(parse(doc), ct.constraints, vendor="nessus")}
    assert {"excluded_checks", "safe_checks"} <= kinds


def test_json_text_and_documents_read_alike(plan):
    payload = NESSUS.render(plan.get("discovery"))
    assert document(json.dumps(payload)) == document(payload)


def test_a_document_without_settings_is_refused():
    with pytest.raises(ValueError):
        parse({"settings": "nope"})
