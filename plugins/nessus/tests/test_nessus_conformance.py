"""Nessus renderings, read back, never break the constraints they were rendered for."""

from hypothesis import HealthCheck, given, settings

import pytest

from scanguard import CannotEnforce, violations
from scanguard.testing.conformance import vendor_conformance_test
from scanguard.testing.strategies import compiled_templates
from scanguard_nessus.plugin import NESSUS, parse

test_policy_document_round_trip_never_less_safe = vendor_conformance_test(NESSUS, max_examples=500)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_policy_file_round_trip_never_less_safe(ct):
    p = ct.template.performance
    if p.probe_delay_ms or p.packets_per_second is not None:
        with pytest.raises(CannotEnforce):
            NESSUS.artifacts(ct)
        return
    files = NESSUS.artifacts(ct)
    if f"{ct.name}.policy.nessus" not in files:
        return  # single plugins excluded: no importable file (see the note written instead)
    back = parse(files[f"{ct.name}.policy.nessus"].encode())
    assert violations(back, ct.constraints, vendor="nessus") == []
