"""The plugin facade calls every hook the way pluggy does (an implementation may take any subset
of the hook's arguments) and names the plugin behind every failure, never with a traceback:
fail closed for checks, rewrites and registrations, fail open and loudly for correlators
(issue 8, item 12)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from scanguard import (CheckRequest, CheckResult, HealthEvent, HealthSource, Outage, PluginError, ReportFormat,
                       TemplateRewrite, compile_plan, hookimpl, load_workspace)
from scanguard.model import AddressSet, Suspect
from tests.test_plugins import _install_fake_distribution, site  # noqa: F401  (the fixture)


def _request():
    return CheckRequest(targets=AddressSet.parse(["127.0.0.1"]), when=datetime.now(timezone.utc))


class RequestOnlyCheck:
    @hookimpl
    def scanguard_pre_scan_checks(self, request):
        return [CheckResult(severity="warning", code="saw-targets", message=",".join(request.targets.items()))]


class CompiledOnlyRewrite:
    @hookimpl
    def scanguard_rewrite_template(self, compiled):
        def slower(t):
            return t.model_copy(update={"performance": t.performance.model_copy(update={"parallel_hosts": 1})})
        return TemplateRewrite(name="one-host", apply=slower) if compiled.group is None else None


class OutageOnlyCorrelator:
    @hookimpl
    def scanguard_correlate(self, outage):
        return [Suspect(host=outage.host, port=7100, source="outage-only")]


def test_a_check_taking_only_the_request_runs_and_does_not_veto(register_plugin):
    with register_plugin(RequestOnlyCheck(), "narrow-check") as pm:
        results = pm.pre_scan_checks(_request(), None)
    (r,) = [r for r in results if r.source == "narrow-check" or r.code == "saw-targets"]
    assert (r.code, r.severity, r.message) == ("saw-targets", "warning", "127.0.0.1")


def test_a_rewrite_taking_only_the_compiled_template_applies(example_workspace, register_plugin):
    with register_plugin(CompiledOnlyRewrite(), "narrow-rewrite") as pm:
        plan = compile_plan(load_workspace(example_workspace), pm)
    assert plan.get("full-audit").template.performance.parallel_hosts == 1
    assert plan.get("full-audit").rewrites == ("narrow-rewrite:one-host",)


def test_a_correlator_taking_only_the_outage_is_heard(register_plugin):
    outage = Outage(host="127.0.0.9", start=datetime.now(timezone.utc))
    with register_plugin(OutageOnlyCorrelator(), "narrow-correlator") as pm:
        suspects = pm.correlate(outage, [], [])
    assert [s.source for s in suspects if s.source == "outage-only"] == ["outage-only"]
    assert pm.warnings == []


class RaisingRewrite:
    @hookimpl
    def scanguard_rewrite_template(self, compiled, workspace):
        raise KeyError("site-policy.yaml")


def test_a_rewrite_hook_that_raises_stops_compile_naming_the_plugin(example_workspace, register_plugin):
    with register_plugin(RaisingRewrite(), "site-policy") as pm:
        with pytest.raises(PluginError, match=r"scanguard_rewrite_template of plugin site-policy failed .*fail closed"):
            compile_plan(load_workspace(example_workspace), pm)


class BadCorrelator:
    @hookimpl
    def scanguard_correlate(self, outage, activity, health):
        return ["not a suspect"]


def test_a_correlator_answering_garbage_is_skipped_and_named_in_the_warnings(register_plugin):
    outage = Outage(host="127.0.0.9", start=datetime.now(timezone.utc))
    with register_plugin(BadCorrelator(), "garbage") as pm:
        pm.correlate(outage, [], [])
    (w,) = pm.warnings
    assert "correlator from plugin garbage failed" in w and "expected Suspect" in w


class RaisingRegistrations:
    @hookimpl
    def scanguard_health_sources(self):
        raise OSError("monitor API down")

    @hookimpl
    def scanguard_report_formats(self):
        raise ValueError("bad template")


def test_registration_hooks_that_raise_are_named_load_failures(register_plugin):
    with register_plugin(RaisingRegistrations(), "broken-reg") as pm:
        sources, formats = pm.health_sources(), pm.report_formats()
        failures = [f for f in pm.failures if f.name == "broken-reg"]
    assert "json" in formats and "csv" in sources  # the built-in ones still count
    assert {f.error.split(" raised")[0] for f in failures} == {"scanguard_health_sources", "scanguard_report_formats"}


class BrokenRecords:
    @hookimpl
    def scanguard_health_sources(self):
        def read(spec):
            raise ConnectionError(f"cannot reach {spec}")
        return [HealthSource(name="pager", read=read)]

    @hookimpl
    def scanguard_report_formats(self):
        def write(findings, stream):
            raise RuntimeError("disk full")
        return [ReportFormat(name="siem", write=write)]


def test_a_health_source_or_report_format_that_fails_is_a_plugin_error_naming_it(register_plugin):
    with register_plugin(BrokenRecords(), "acme-ops") as pm:
        with pytest.raises(PluginError, match=r"health source 'pager' from plugin acme-ops failed on 'icu-1'"):
            pm.read_health("pager", "icu-1")
        with pytest.raises(PluginError, match=r"report format 'siem' from plugin acme-ops failed: RuntimeError"):
            pm.write_report("siem", [], io.StringIO())


def test_render_with_a_raising_rewrite_plugin_exits_1_naming_it_without_a_traceback(site, example_workspace):  # noqa: F811
    _install_fake_distribution(site, "acme-site-policy", "acme-policy", "sg_test_rewrite", """
        from scanguard import hookimpl

        @hookimpl
        def scanguard_rewrite_template(compiled):
            raise RuntimeError("policy server unreachable")
        """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "scanguard", "render", "--vendor", "nmap", "--workspace",
                           str(example_workspace)], capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "plugin acme-policy failed" in proc.stderr and "policy server unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_health_events_of_a_source_come_back_checked(register_plugin):
    class Good:
        @hookimpl
        def scanguard_health_sources(self):
            return [HealthSource(name="fixed", read=lambda spec: [HealthEvent(
                time=datetime(2026, 1, 1, tzinfo=timezone.utc), host="127.0.0.9", state="up", source=spec)])]
    with register_plugin(Good(), "fixed-source") as pm:
        (ev,) = pm.read_health("fixed", "bed-1")
    assert ev.host == "127.0.0.9" and ev.source == "bed-1"
