"""Nessus renderings, read back, never break the constraints they were rendered for."""

from hypothesis import HealthCheck, given, settings

import pytest

from scanguard import CannotEnforce, violations
from scanguard.testing.conformance import vendor_conformance_test
from scanguard.testing.strategies import compiled_templates
from scanguard_nessus.plugin import NESSUS, parse

test_policy_document_round_trip_never_less_safe = vendor_conformance_test(NESSUS, max_examples=500)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_policy_file_round_trip_never_less_safe(ct):
    if ct.constraints.min_probe_delay_ms:
        with pytest.raises(CannotEnforce, match="between probes"):
            NESSUS.artifacts(ct)
        return
    text = NESSUS.artifacts(ct)[f"{ct.name}.policy.nessus"]
    back = parse(text.encode())
    assert violations(back, ct.constraints, vendor="nessus") == []


def test_a_template_that_needs_a_delay_between_probes_is_refused(example_workspace):
    from scanguard import compile_plan, load_workspace

    ct = compile_plan(load_workspace(example_workspace)).get("full-audit@imaging")
    assert ct.constraints.min_probe_delay_ms == 100
    with pytest.raises(CannotEnforce, match="imaging-cr-reader"):
        NESSUS.render(ct)
