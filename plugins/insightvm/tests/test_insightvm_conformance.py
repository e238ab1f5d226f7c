"""Properties: the conformance invariant, canonical rendering, and spec-valid bodies."""

import pytest
from hypothesis import HealthCheck, assume, given, settings

from scanguard import CannotEnforce
from scanguard.testing.conformance import vendor_conformance_test
from scanguard.testing.strategies import compiled_templates
from scanguard_insightvm.plugin import VENDOR
from scanguard_insightvm.template import normalise_document, render_template

test_round_trip_never_less_safe = vendor_conformance_test(VENDOR, max_examples=500)


def _rendered(ct):
    """The body of a template InsightVM keeps; a refused one (checks with a rate or delay) is set aside."""
    try:
        return render_template(ct)
    except CannotEnforce:
        p = ct.template.performance
        assert ct.template.checks.enabled and (p.packets_per_second or p.probe_delay_ms)
        assume(False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_rendered_documents_are_canonical(ct):
    doc = _rendered(ct)
    assert normalise_document(doc) == doc


@pytest.mark.fixtures
def test_every_rendered_body_validates_against_the_spec(validator):
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ct=compiled_templates())
    def check(ct):
        assert validator.errors("ScanTemplate", _rendered(ct)) == []

    check()


@pytest.mark.fixtures
def test_example_workspace_bodies_validate_against_the_spec(validator, kept):
    for ct in kept:
        assert validator.errors("ScanTemplate", render_template(ct)) == [], ct.name
