"""The plugin system: entry points, failures named and skipped, the allow-list, rewrites
verified, checks failing closed and correlators failing open."""

from __future__ import annotations

import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from scanguard import CheckRequest, CheckResult, Outage, SafetyError, TemplateRewrite, compile_plan, hookimpl, load_workspace
from scanguard.errors import PluginError
from scanguard.model import AddressSet, Suspect
from scanguard.plugin.manager import load_plugins


def _install_fake_distribution(site: Path, dist: str, entry_name: str, module: str, source: str) -> None:
    """A real installed distribution on sys.path: a module and a dist-info with an entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 9.9.9\n")
    (info / "entry_points.txt").write_text(f"[scanguard]\n{entry_name} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m.startswith("sg_test_")]:
        del sys.modules[name]


def test_a_broken_plugin_is_named_with_its_distribution_and_skipped(site, caplog):
    _install_fake_distribution(site, "acme-scanguard-broken", "acme", "sg_test_broken",
                               "raise ImportError('libacme.so not found')\n")
    pm = load_plugins()
    (failure,) = [f for f in pm.failures if f.name == "acme"]
    assert failure.distribution == "acme-scanguard-broken" and failure.version == "9.9.9"
    assert "libacme.so not found" in failure.error
    assert "acme-scanguard-broken" in caplog.text
    assert "nmap" in pm.vendors()  # the others still load


def test_render_and_sync_refuse_when_a_needed_vendor_failed_to_load(site):
    _install_fake_distribution(site, "scanguard-acmescan", "acmescan", "sg_test_acme",
                               "raise RuntimeError('boom')\n")
    pm = load_plugins()
    with pytest.raises(PluginError, match="vendor 'acmescan' is not available because plugin 'acmescan'"):
        pm.require_vendors(["acmescan"])
    with pytest.raises(PluginError, match="refusing to continue while a plugin failed to load"):
        pm.require_vendors(["nmap"], strict=True)


def test_allow_list_loads_only_the_named_plugins(site, monkeypatch):
    _install_fake_distribution(site, "acme-extra", "acme-extra", "sg_test_extra", "")
    monkeypatch.setenv("SCANGUARD_LOAD_PLUGINS", "nmap")
    names = [i.name for i in load_plugins().info()]
    assert "nmap" in names and "acme-extra" not in names


def test_empty_allow_list_loads_no_external_plugin(monkeypatch):
    monkeypatch.setenv("SCANGUARD_LOAD_PLUGINS", "")
    pm = load_plugins()
    assert pm.vendors() == {} and all(i.builtin for i in pm.info())


def test_a_vendor_registered_twice_is_an_error_naming_both(scanguard_plugins):
    from scanguard_nmap import plugin as nmap_plugin

    scanguard_plugins.register(nmap_plugin, "nmap-a")
    scanguard_plugins.register(SimpleNamespace(scanguard_vendors=hookimpl(lambda: nmap_plugin.scanguard_vendors())), "nmap-b")
    with pytest.raises(PluginError, match="registered twice: by nmap-a and by nmap-b"):
        scanguard_plugins.vendors()


class _Rewriter:
    def __init__(self, name, priority, fn):
        self.rw = TemplateRewrite(name=name, priority=priority, apply=fn)

    @hookimpl
    def scanguard_rewrite_template(self, compiled, workspace):
        return self.rw


def test_a_rewrite_that_weakens_a_template_is_rejected(example_workspace, register_plugin):
    ws = load_workspace(example_workspace)

    def reopen_7100(t):
        from scanguard import PortSet

        return t.model_copy(update={"ports": t.ports | PortSet.parse("7100/tcp")})

    with register_plugin(_Rewriter("open-7100", 10, reopen_7100), "evil") as pm:
        with pytest.raises(SafetyError, match=r"rewrite 'open-7100' from plugin evil rejected: .*adds ports 7100/tcp"):
            compile_plan(ws, pm)


def test_rewrites_apply_in_priority_order_and_are_recorded(example_workspace, register_plugin):
    ws = load_workspace(example_workspace)
    seen = []

    def slow_down(limit):
        def apply(t):
            seen.append(limit)
            p = t.performance
            pps = limit if p.packets_per_second is None else min(limit, p.packets_per_second)
            return t.model_copy(update={"performance": p.model_copy(update={"packets_per_second": pps})})
        return apply

    with register_plugin(_Rewriter("cap-200", 20, slow_down(200)), "b-plugin"), \
            register_plugin(_Rewriter("cap-500", 10, slow_down(500)), "a-plugin") as pm:
        plan = compile_plan(ws, pm)
    ct = plan.get("full-audit")
    assert ct.rewrites == ("a-plugin:cap-500", "b-plugin:cap-200")
    assert ct.template.performance.packets_per_second == 200
    assert seen[:2] == [500, 200]


class _Check:
    def __init__(self, fn):
        self.fn = fn

    @hookimpl
    def scanguard_pre_scan_checks(self, request, workspace):
        return self.fn()


def _request():
    return CheckRequest(targets=AddressSet.parse(["127.0.0.1"]), when=datetime.now(timezone.utc))


def test_a_pre_scan_check_that_raises_vetoes_the_scan(register_plugin):
    def boom():
        raise RuntimeError("patient monitor API unreachable")

    with register_plugin(_Check(boom), "patient-link") as pm:
        (r,) = [r for r in pm.pre_scan_checks(_request(), None) if r.source == "patient-link"]
    assert r.severity == "error" and "fail closed" in r.message and "unreachable" in r.message


def test_every_pre_scan_check_result_is_collected(register_plugin):
    one = _Check(lambda: [CheckResult(severity="warning", code="a", message="a")])
    two = _Check(lambda: [CheckResult(severity="error", code="b", message="b")])
    with register_plugin(one, "one"), register_plugin(two, "two") as pm:
        codes = sorted(r.code for r in pm.pre_scan_checks(_request(), None) if r.code in "ab")
    assert codes == ["a", "b"]


class _Correlator:
    def __init__(self, fn):
        self.fn = fn

    @hookimpl
    def scanguard_correlate(self, outage, activity, health):
        return self.fn()


def test_a_correlator_that_raises_is_skipped_and_the_others_count(register_plugin, caplog):
    def boom():
        raise ValueError("bad model")

    good = _Correlator(lambda: [Suspect(host="127.0.0.9", port=7100, source="good")])
    outage = Outage(host="127.0.0.9", start=datetime.now(timezone.utc))
    with register_plugin(_Correlator(boom), "broken"), register_plugin(good, "good") as pm:
        suspects = pm.correlate(outage, [], [])
    assert [s.source for s in suspects if s.source == "good"] == ["good"]
    assert "correlator from plugin broken failed" in caplog.text


def test_a_registration_hook_returning_a_dict_is_refused(scanguard_plugins):
    scanguard_plugins.register(SimpleNamespace(scanguard_vendors=hookimpl(lambda: [{"name": "x"}])), "dicty")
    scanguard_plugins.vendors()
    (f,) = scanguard_plugins.failures
    assert f.name == "dicty" and "expected Vendor" in f.error
