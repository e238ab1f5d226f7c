"""Nessus renderings, read back, never break the constraints they were rendered for."""

from hypothesis import HealthCheck, given, settings

from scanguard import violations
from scanguard.testing.conformance import vendor_conformance_test
from scanguard.testing.strategies import compiled_templates
from scanguard_nessus.plugin import NESSUS, parse

test_policy_document_round_trip_never_less_safe = vendor_conformance_test(NESSUS, max_examples=500)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_policy_file_round_trip_never_less_safe(ct):
    text = NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"]
    back = parse(text.encode())
    assert violations(back, ct.constraints, vendor="nessus") == []
