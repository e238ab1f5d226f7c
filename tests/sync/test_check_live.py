"""`scanguard check --scanner S --template T` compares the live template on the scanner with the
plan: a hand edit (drift) or a template never pushed is a no-go; a scanner that cannot be read too."""

from __future__ import annotations


import pytest

from scanguard import load_workspace
from scanguard.check import live_template_results

from .backends import available, ready, running
from .harness import run_sync, snapshot, write_workspace

TEMPLATE = "full-audit@payment-terminals"


@pytest.fixture(params=[v for v in available() if v in ("nessus", "insightvm")])
def backend(request):
    return ready(request.param)


def _codes(results):
    return [(r.severity, r.code) for r in results]


def test_a_template_never_pushed_is_no_go(backend, tmp_path):
    b, pm = backend
    with running(b) as (_fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        assert _codes(live_template_results(ws, pm, "scn", TEMPLATE)) == [("error", "live-create")]


def test_the_pushed_template_unchanged_is_go(backend, tmp_path):
    b, pm = backend
    with running(b) as (_fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        assert live_template_results(ws, pm, "scn", TEMPLATE) == []


def test_a_template_edited_in_the_console_is_no_go_and_says_how_it_is_weaker(backend, tmp_path):
    b, pm = backend
    with running(b) as (fakes, bodies, _):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
        run_sync(ws, pm)
        b.drift(fakes[0], snapshot(ws, pm, "scn")[TEMPLATE][0].remote_id)
        (r,) = live_template_results(ws, pm, "scn", TEMPLATE)
    assert (r.severity, r.code) == ("error", "live-drift") and "less safe" in r.message


def test_a_scanner_that_cannot_be_read_is_no_go(backend, tmp_path, monkeypatch):
    b, pm = backend
    with running(b) as (_fakes, bodies, env):
        ws = load_workspace(write_workspace(tmp_path / "ws", bodies))
    for name, value in env.items():  # the credentials are still set (a missing one is invalid input, exit 2)
        monkeypatch.setenv(name, value)
    # the fake is stopped: nothing answers at its address any more
    (r,) = live_template_results(ws, pm, "scn", TEMPLATE)
    assert (r.severity, r.code) == ("error", "scanner-unreadable")
