"""The spec validator: Rapid7's definitions, $refs resolved, and the one documented erratum."""

import json

import pytest

from scanguard_insightvm.spec import SpecValidator, find_spec

pytestmark = pytest.mark.fixtures


def test_the_shared_spec_is_found(fixtures_dir):
    assert find_spec() == fixtures_dir / "insightvm" / "console-swagger.json"


def test_a_wrong_type_in_a_nested_definition_is_reported(validator):
    body = {"discovery": {"performance": {"packetRate": {"maximum": "fast"}}}}
    expected = "discovery/performance/packetRate/maximum: 'fast' is not of type 'integer'"
    assert validator.errors("ScanTemplate", body) == [expected]


def test_a_value_outside_the_enum_is_reported(validator):
    errs = validator.errors("ScanTemplate", {"discovery": {"service": {"tcp": {"method": "XMAS"}}}})
    assert len(errs) == 1 and errs[0].startswith("discovery/service/tcp/method")


def test_bounds_from_the_spec_hold(validator):
    assert validator.errors("ScanTemplate", {"discovery": {"performance": {"packetRate": {"maximum": 15001}}}})


def test_the_literal_spec_rejects_every_port_list(fixtures_dir):
    # why the erratum exists: items are published as {"type": "object"}
    spec = json.loads((fixtures_dir / "insightvm" / "console-swagger.json").read_text())
    literal = SpecValidator(spec, errata=False)
    assert literal.errors("ScanTemplate", {"discovery": {"service": {"tcp": {"excludedPorts": [7100]}}}})


def test_port_lists_may_be_arrays_of_ports_and_ranges(validator):
    body = {"discovery": {"service": {"tcp": {"excludedPorts": [7100, "7892-7898", "22"]}}}}
    assert validator.errors("ScanTemplate", body) == []


def test_port_lists_may_be_one_csv_string(validator):
    body = {"discovery": {"service": {"udp": {"additionalPorts": "3078,8000-8080"}}}}
    assert validator.errors("ScanTemplate", body) == []


def test_a_port_out_of_range_is_refused(validator):
    assert validator.errors("ScanTemplate", {"discovery": {"service": {"tcp": {"excludedPorts": [70000]}}}})


def test_the_body_schema_of_an_operation(validator):
    assert validator.body_schema("PUT", "/api/3/scan_templates/{id}") == "ScanTemplate"
    assert validator.body_schema("GET", "/api/3/scan_templates") is None
