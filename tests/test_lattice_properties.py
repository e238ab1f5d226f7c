"""The safety lattice's laws, held by hypothesis (1,000 examples each)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanguard.lattice import at_least_as_safe, merge, merge_all, narrow, safety_regressions, violations
from scanguard.model import Constraints
from scanguard.testing.strategies import constraints, templates

LAWS = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@LAWS
@given(constraints(), constraints())
def test_merge_is_commutative(a, b):
    assert merge(a, b) == merge(b, a)


@LAWS
@given(constraints(), constraints(), constraints())
def test_merge_is_associative(a, b, c):
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@LAWS
@given(constraints())
def test_merge_is_idempotent(a):
    assert merge(a, a) == a


@LAWS
@given(constraints())
def test_no_constraint_is_the_neutral_element(a):
    assert merge(a, Constraints()) == a


@LAWS
@given(templates(), constraints(), constraints())
def test_merge_is_monotone_adding_a_profile_never_makes_a_template_less_safe(t, a, b):
    assert at_least_as_safe(narrow(t, merge(a, b)), narrow(t, a))


@LAWS
@given(templates(), constraints())
def test_narrowing_leaves_no_violations(t, c):
    assert violations(narrow(t, c), c) == []


@LAWS
@given(templates(), constraints())
def test_narrowing_never_adds_a_port_a_discovery_method_or_rate(t, c):
    n = narrow(t, c)
    assert n.ports.issubset(t.ports)
    assert n.discovery_methods() <= t.discovery_methods()
    p, q = n.performance, t.performance
    assert q.packets_per_second is None or (p.packets_per_second is not None and p.packets_per_second <= q.packets_per_second)
    assert p.parallel_hosts <= q.parallel_hosts and p.parallel_checks_per_host <= q.parallel_checks_per_host
    assert p.probe_delay_ms >= q.probe_delay_ms
    assert safety_regressions(n, t) == []


@LAWS
@given(templates(), constraints())
def test_narrowing_is_idempotent(t, c):
    once = narrow(t, c)
    assert narrow(once, c) == once


@settings(max_examples=300, deadline=None)
@given(st.lists(constraints(), max_size=6))
def test_merge_all_equals_folding_merge(items):
    folded = Constraints()
    for c in items:
        folded = merge(folded, c)
    assert merge_all(items) == folded
