"""Properties: the conformance invariant, canonical rendering, and spec-valid bodies."""

import pytest
from hypothesis import HealthCheck, given, settings

from scanguard.testing.conformance import vendor_conformance_test
from scanguard.testing.strategies import compiled_templates
from scanguard_insightvm.plugin import VENDOR
from scanguard_insightvm.template import normalise_document, render_template

test_round_trip_never_less_safe = vendor_conformance_test(VENDOR, max_examples=500)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_rendered_documents_are_canonical(ct):
    doc = render_template(ct)
    assert normalise_document(doc) == doc


@pytest.mark.fixtures
def test_every_rendered_body_validates_against_the_spec(validator):
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ct=compiled_templates())
    def check(ct):
        assert validator.errors("ScanTemplate", render_template(ct)) == []

    check()


@pytest.mark.fixtures
def test_example_workspace_bodies_validate_against_the_spec(validator, plan):
    for ct in plan.templates:
        assert validator.errors("ScanTemplate", render_template(ct)) == [], ct.name
