"""Plugin rewrites are re-verified with the lattice's order: every weakening is refused like a
removed port exclusion (issue 8, item 10)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanguard import SafetyError, ScanTemplate, TemplateRewrite, compile_plan, hookimpl, load_workspace
from scanguard.lattice import safety_regressions
from scanguard.testing.strategies import templates


class _Rewriter:
    def __init__(self, name, fn):
        self.rw = TemplateRewrite(name=name, priority=10, apply=fn)

    @hookimpl
    def scanguard_rewrite_template(self, compiled, workspace):
        return self.rw


def _checks(**update):
    def apply(t: ScanTemplate) -> ScanTemplate:
        return t.model_copy(update={"checks": t.checks.model_copy(update=update)})
    return apply


@pytest.mark.parametrize("update, why", [
    ({"enabled": False, "safe_only": False}, "turns safe checks off"),
    ({"enabled": False, "excluded_categories": frozenset()}, "re-enables check categories"),
    ({"enabled": False, "excluded_vendor_checks": frozenset()}, "re-enables checks"),
    ({"safe_only": False}, "turns safe checks off"),
    ({"excluded_categories": frozenset()}, "re-enables check categories"),
])
def test_a_rewrite_that_clears_check_exclusions_is_refused_even_with_checks_off(example_workspace, register_plugin,
                                                                                update, why):
    ws = load_workspace(example_workspace)
    with register_plugin(_Rewriter("loosen", _checks(**update)), "loose") as pm:
        with pytest.raises(SafetyError, match=rf"rewrite 'loosen' from plugin loose rejected: .*{why}"):
            compile_plan(ws, pm)


def test_a_rewrite_that_only_switches_checks_off_is_accepted_as_safer(example_workspace, register_plugin):
    ws = load_workspace(example_workspace)
    with register_plugin(_Rewriter("no-checks", _checks(enabled=False)), "quiet") as pm:
        plan = compile_plan(ws, pm)
    ct = plan.get("full-audit@payment-terminals")
    assert not ct.template.checks.enabled and ct.template.checks.safe_only
    assert ct.rewrites == ("quiet:no-checks",)


@settings(max_examples=200, deadline=None)
@given(templates(), st.booleans(), st.booleans())
def test_clearing_safe_only_or_categories_is_always_a_regression(t, enabled, clear_categories):
    safe = t.model_copy(update={"checks": t.checks.model_copy(update={"safe_only": True})})
    loosened = safe.checks.model_copy(update={
        "enabled": enabled and safe.checks.enabled, "safe_only": False,
        **({"excluded_categories": frozenset()} if clear_categories else {})})
    assert "turns safe checks off" in safety_regressions(safe.model_copy(update={"checks": loosened}), safe)


@settings(max_examples=200, deadline=None)
@given(templates())
def test_switching_checks_off_alone_is_never_a_regression(t):
    off = t.model_copy(update={"checks": t.checks.model_copy(update={"enabled": False})})
    assert safety_regressions(off, t) == []
