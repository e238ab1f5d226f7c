"""What the console knows decides what is sent: check categories and types are console data, port
lists take the form of the console's API version, and the web spider is off wherever checks are
restricted. Contract: the spec's own examples replayed through the client, and the fake's answers
valid against the spec's response definitions."""

from __future__ import annotations

import logging

import pytest

from scanguard import CannotEnforce, CompiledTemplate, ScanTemplate, managed_marker, payload_hash
from scanguard_insightvm.client import InsightVMClient
from scanguard_insightvm.spec import load_validator
from scanguard_insightvm.template import parse_template, render_template
from scanguard_testbed_scanners.insightvm import FakeInsightVM, served_spec
from tests.fakes.replay import ReplayServer

NAME = "full-audit@infusion"


def _ct(**template) -> CompiledTemplate:
    return CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", **template))


def _push(client, payload, name="t"):
    return client.create(name, payload, managed_marker(name, payload_hash(payload)))


# --- check categories and types ----------------------------------------------------------------

def test_a_category_the_console_does_not_know_is_refused_before_anything_is_written(client, fake):
    payload = render_template(_ct(checks={"excluded_vendor_checks": ["insightvm:category:Scada Things"]}))
    with pytest.raises(CannotEnforce, match="knows no check category 'Scada Things'"):
        _push(client, payload)
    assert fake.writes() == []
    assert ("GET", "/api/3/vulnerability_categories", 200) in fake.requests


def test_the_neutral_dos_category_needs_the_console_to_know_denial_of_service(client, fake, plan):
    fake.categories.remove("Denial of Service")
    with pytest.raises(CannotEnforce, match="Denial of Service"):
        _push(client, render_template(plan.get(NAME)), NAME)
    assert fake.writes() == []


def test_a_name_the_console_spells_otherwise_is_refused_with_its_spelling(client, fake):
    fake.categories = [c if c != "Malware" else "MALWARE" for c in fake.categories]
    payload = render_template(_ct(checks={"excluded_vendor_checks": ["insightvm:category:Malware"]}))
    with pytest.raises(CannotEnforce, match="the console has 'MALWARE'"):
        _push(client, payload)


def test_a_check_type_the_console_does_not_know_is_refused(client, fake):
    payload = render_template(_ct(checks={"excluded_vendor_checks": ["insightvm:type:Dangerous"]}))
    with pytest.raises(CannotEnforce, match="check type 'Dangerous'"):
        _push(client, payload)


def test_categories_are_read_across_pages(client, fake, monkeypatch):
    monkeypatch.setattr("scanguard_insightvm.client.PAGE_SIZE", 5)
    assert client.check_categories() == frozenset(fake.categories)
    assert sum(1 for m, p, _ in fake.requests if p == "/api/3/vulnerability_categories") == 3


def test_known_categories_and_types_are_pushed(client, fake, plan):
    rid = _push(client, render_template(plan.get(NAME)), NAME)
    stored = fake.template(rid)["checks"]
    assert stored["categories"]["disabled"] == ["Denial of Service"] and stored["types"]["disabled"] == ["Default Account"]


# --- port lists in the console's form -----------------------------------------------------------

@pytest.mark.fixtures
@pytest.mark.parametrize("version,form", [("3", list), ("3.1", str)])
def test_port_lists_take_the_form_of_the_consoles_api_version(version, form, monkeypatch, scanner_config, plan):
    with FakeInsightVM(api_version=version) as fake:
        monkeypatch.setenv("SG_TEST_IVM_USER", fake.username)
        monkeypatch.setenv("SG_TEST_IVM_PASSWORD", fake.password)
        client = InsightVMClient(scanner_config(fake.url, fake.ca_bundle))
        payload = render_template(plan.get(NAME))
        rid = _push(client, payload, NAME)  # the fake refuses a body in the other version's form
        tcp = fake.template(rid)["discovery"]["service"]["tcp"]
        assert isinstance(tcp["excludedPorts"], form)
        back = client.read(rid)
        assert payload_hash(back.payload) == payload_hash(payload)
        assert not parse_template(back.payload).ports.contains(80)


@pytest.mark.fixtures
def test_a_body_in_the_other_versions_form_is_refused_by_the_fake(monkeypatch, scanner_config, plan):
    with FakeInsightVM(api_version="3.1") as fake:
        monkeypatch.setenv("SG_TEST_IVM_USER", fake.username)
        monkeypatch.setenv("SG_TEST_IVM_PASSWORD", fake.password)
        client = InsightVMClient(scanner_config(fake.url, fake.ca_bundle))
        client._port_form = "array"  # as if the client had not asked the console
        from scanguard import ScannerError

        with pytest.raises(ScannerError, match="HTTP 400.*excludedPorts"):
            _push(client, render_template(plan.get(NAME)), NAME)


def test_a_console_that_does_not_serve_its_spec_gets_arrays_and_its_version_is_logged(client, fake, caplog):
    fake.serves_spec = False
    fake.console_version = "6.6.301"
    caplog.set_level(logging.WARNING)
    assert client.port_form() == "array"
    assert "6.6.301" in caplog.text
    assert ("GET", "/api/3/administration/info", 200) in fake.requests


# --- the web spider ------------------------------------------------------------------------------

@pytest.mark.parametrize("checks", [{"excluded_categories": ["dos"]},
                                    {"excluded_vendor_checks": ["insightvm:check:ssh-weak-kex"]}])
def test_the_web_spider_is_off_wherever_checks_are_restricted(checks):
    assert render_template(_ct(checks=checks))["webEnabled"] is False


def test_the_web_spider_runs_only_where_nothing_is_restricted():
    assert render_template(_ct())["webEnabled"] is True


def test_every_example_template_with_checks_keeps_the_spider_off(plan):
    for ct in plan.templates:
        doc = render_template(ct)
        assert doc["webEnabled"] is False, ct.name  # every base template excludes a category or has no checks


# --- contract: the spec's examples and response definitions ------------------------------------

@pytest.fixture
def replay_client(monkeypatch, scanner_config):
    monkeypatch.setenv("SG_TEST_IVM_USER", "nxadmin")
    monkeypatch.setenv("SG_TEST_IVM_PASSWORD", "replayed")

    def make(url: str) -> InsightVMClient:
        return InsightVMClient(scanner_config(url, None))

    return make


@pytest.mark.fixtures
def test_the_specs_scan_template_example_is_read_conservatively(validator, replay_client):
    example = validator.example("ScanTemplate")
    with ReplayServer([{"method": "GET", "path": "/api/3/scan_templates/full-audit-without-web-spider",
                        "status": 200, "response_body": example}]) as replay:
        back = replay_client(replay.url).read("full-audit-without-web-spider")
        assert replay.done(), replay.mismatches
    t = parse_template(back.payload)
    # "well-known" ports are a list the console keeps to itself: every port counts as scanned, bar
    # the example's exclusions; the web spider runs, so no category or type exclusion holds
    assert t.ports.contains(80) and not t.ports.contains(1024) and not t.ports.contains(9899, "udp")
    assert t.performance.packets_per_second == 15000 and not t.checks.excluded_categories
    assert not back.managed


@pytest.mark.fixtures
def test_the_specs_category_and_type_examples_decide_what_is_known(validator, replay_client):
    categories = validator.example("PageOf«VulnerabilityCategory»")
    categories["page"] = {"number": 0, "size": 10, "totalPages": 1, "totalResources": 1}
    types = validator.example("ReferencesWith«VulnerabilityCheckTypeID,Link»")
    with ReplayServer([
        {"method": "GET", "path": "/api/3/vulnerability_categories", "status": 200, "response_body": categories},
        {"method": "GET", "path": "/api/3/vulnerability_checks_types", "status": 200, "response_body": types},
    ]) as replay:
        client = replay_client(replay.url)
        assert client.check_categories() == {"Microsoft"}
        assert client.check_types() == frozenset()  # the example lists none
        with pytest.raises(CannotEnforce, match="check type 'Default Account'"):
            client.require_known_checks({"checks": {"categories": {"disabled": ["Microsoft"]},
                                                    "types": {"disabled": ["Default Account"]}}})
        assert replay.done(), replay.mismatches


@pytest.mark.fixtures
def test_the_version_comes_from_the_info_example_when_no_spec_is_served(validator, replay_client):
    with ReplayServer([
        {"method": "GET", "path": "/api/3/json", "status": 404, "response_body": {"status": 404, "message": "x"}},
        {"method": "GET", "path": "/api/3/administration/info", "status": 200,
         "response_body": validator.example("Info")},
    ]) as replay:
        assert replay_client(replay.url).port_form() == "array"
        assert replay.done(), replay.mismatches


@pytest.mark.fixtures
@pytest.mark.parametrize("path,definition", [
    ("/api/3/vulnerability_categories", "PageOf«VulnerabilityCategory»"),
    ("/api/3/vulnerability_checks_types", "ReferencesWith«VulnerabilityCheckTypeID,Link»"),
    ("/api/3/administration/info", "Info"),
    ("/api/3/scan_templates", "Resources«ScanTemplate»"),
    ("/api/3/scan_templates/full-audit-without-web-spider", "ScanTemplate"),
])
def test_the_fakes_answers_are_valid_for_the_specs_response_definitions(client, validator, path, definition):
    assert validator.errors(definition, client.http.json("GET", path)) == []


@pytest.mark.fixtures
def test_the_fake_serves_the_specs_of_both_versions(fixtures_dir):
    path = str(fixtures_dir / "insightvm" / "console-swagger.json")
    assert served_spec(path, "3")["info"]["version"] == "3"
    newer = served_spec(path, "3.1")
    assert newer["info"]["version"] == "3.1"
    assert newer["definitions"]["ScanTemplateServiceDiscoveryUdp"]["properties"]["excludedPorts"]["type"] == "string"
    assert load_validator(path, port_form="csv").errors(
        "ScanTemplate", {"discovery": {"service": {"tcp": {"excludedPorts": [7100]}}}})
