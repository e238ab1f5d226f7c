"""Precision and recall of find-misplaced on the labelled set (tests/misplaced/labelled.py),
planted into copies of every vendor's real export. The figures are printed by
benchmarks/bench_fingerprint_accuracy.py; here they must not fall below what the set shows
today, and the issue's own cases must hold in every vendor's shape."""

from __future__ import annotations

import pytest

from tests.misplaced.labelled import Counts, measure

pytestmark = pytest.mark.fixtures


@pytest.fixture(scope="module")
def results(fixtures_dir, example_workspace, tmp_path_factory):
    return measure(fixtures_dir, example_workspace, tmp_path_factory.mktemp("labelled"))


def test_precision_and_recall_over_every_vendor(results):
    total = sum((r.counts for r in results), Counts())

    assert total.tp + total.fn == 4 * 13  # 13 true devices in each of four vendors' shapes
    assert total.precision >= 0.93 and total.recall >= 0.82, (total, [(r.vendor, r.missed, r.wrong) for r in results])


def test_the_issues_look_alikes_are_never_reported(results):
    wrong = [w for r in results for w in r.wrong]

    assert not any("another vendor's terminal" in w or "generic web server" in w for w in wrong), wrong
    assert not any("a host of the real export" in w for w in wrong), wrong


def test_the_routed_terminal_is_found_in_every_vendors_shape(results):
    assert not any("routed terminal" in m for r in results for m in r.missed)
