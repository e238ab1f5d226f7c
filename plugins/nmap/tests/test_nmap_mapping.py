"""The neutral-to-nmap mapping has no hole that only looks safe, in either direction: a rendering
never sends what the profile forbids (-sV where intrusive or version checks are excluded, SYN
pings where SYN is forbidden), and a command line someone wrote is read for everything it sends
(-sV, -O, -A, -sC, every ping type, traceroute, nmap's default pings)."""

from __future__ import annotations

import pytest

from scanguard import CompiledTemplate, Constraints, PortSet, ScanTemplate, VendorCheck, compile_plan, load_workspace
from scanguard import narrow, violations
from scanguard_nmap.argv import parse_argv, render_argv


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def _compiled(**checks) -> CompiledTemplate:
    t = ScanTemplate(name="t", ports=PortSet.parse("1-1024"), checks=checks)
    return CompiledTemplate(name="t", base="t", template=t)


def test_excluded_intrusive_checks_render_no_version_detection(plan):
    for name in ("full-audit@energy-plcs", "fragile-safe", "fragile-safe@payment-terminals"):
        argv = render_argv(plan.get(name))
        assert "-sV" not in argv and "--script" in argv, name


def test_version_detection_only_where_nothing_it_runs_is_excluded():
    assert "-sV" in render_argv(_compiled(safe_only=False))
    assert "-sV" not in render_argv(_compiled(safe_only=True))  # most version scripts are not "safe"
    assert "-sV" not in render_argv(_compiled(safe_only=False, excluded_categories=["intrusive"]))
    assert "-sV" not in render_argv(_compiled(safe_only=False, excluded_vendor_checks=["nmap:category:version"]))
    assert "-sV" not in render_argv(_compiled(safe_only=False, excluded_vendor_checks=["nmap:script:bacnet-info"]))


def test_a_forbidden_syn_scan_sends_no_syn_ping(plan):
    for name in ("discovery@energy-plcs", "full-audit@energy-plcs", "fragile-safe@energy-plcs"):
        argv = render_argv(plan.get(name))
        assert "-sS" not in argv and not any(a.startswith(("-PS", "-PA")) for a in argv), name
        assert "-sT" in argv or "-sn" in argv


def test_syn_pings_are_kept_where_syn_is_allowed(plan):
    argv = render_argv(plan.get("discovery@payment-terminals"))
    assert "-PS22,80,443" in argv and "-sS" in argv


def _syn_forbidden() -> Constraints:
    return Constraints(allowed_discovery=frozenset({"icmp", "arp", "tcp_ping", "udp_ping", "udp_scan"}))


def test_a_syn_ping_in_a_command_line_is_a_syn_probe():
    for command in ("nmap -n -sT -p 80 -PS22", "nmap -n -sT -p 80 -PA22", "nmap -n -sT -p 80",
                    "nmap -n -sn -PS22", "nmap -n -sU -p U:53 -PS80"):
        kinds = {v.kind for v in violations(parse_argv(command), _syn_forbidden())}
        assert "discovery" in kinds, command
    assert not violations(parse_argv("nmap -n -sT -p 80 -Pn"), _syn_forbidden())
    assert not violations(parse_argv("nmap -n --unprivileged -p 80 -PS22"), _syn_forbidden())


def test_version_detection_in_a_command_line_is_intrusive_and_not_safe_only():
    t = parse_argv(["nmap", "-n", "-sT", "-p", "80", "-sV", "--script", "safe and not intrusive"])
    assert t.checks.enabled and not t.checks.safe_only
    assert "intrusive" not in t.checks.excluded_categories
    assert VendorCheck(vendor="nmap", kind="category", id="version") not in t.checks.excluded_vendor_checks
    same_without = parse_argv(["nmap", "-n", "-sT", "-p", "80", "--script", "safe and not intrusive"])
    assert {"intrusive", "unsafe"} <= same_without.checks.excluded_categories and same_without.checks.safe_only
    assert parse_argv("nmap -p 80 -sV --version-light").checks.enabled


@pytest.mark.parametrize("command", ["nmap -n -sT -p 80 -O", "nmap -n -sT -p 80 -A", "nmap -n -sT -p 80 -O2"])
def test_os_detection_reads_as_probing_every_port_with_raw_packets(command):
    t = parse_argv(command)
    assert t.ports == PortSet.all() and t.discovery.icmp and t.discovery.port_scan == "syn"
    assert t.checks.enabled and not t.checks.safe_only and "intrusive" not in t.checks.excluded_categories


def test_default_scripts_exclude_nothing():
    for command in ("nmap -n -p 80 -sC", "nmap -n -p 80 --script default", "nmap -n -p 80 --script=default,safe"):
        t = parse_argv(command)
        assert t.checks.enabled and not t.checks.safe_only and not t.checks.excluded_categories, command


def test_traceroute_reads_as_icmp_and_raw_probes():
    t = parse_argv("nmap -n -sT -p 80 -Pn --traceroute")
    assert t.discovery.icmp and t.discovery.port_scan == "syn"


def test_every_ping_type_is_read():
    assert parse_argv("nmap -n -sn -PE").discovery.icmp
    assert parse_argv("nmap -n -sn -PP").discovery.icmp
    assert parse_argv("nmap -n -sn -PM").discovery.icmp
    t = parse_argv("nmap -n -sn -PU161,162")
    assert t.discovery.udp_ping and t.discovery.ping_ports == PortSet.parse("161-162/udp")
    assert parse_argv("nmap -n -sn -PU").discovery.ping_ports == PortSet.parse("40125/udp")
    assert parse_argv("nmap -n -sn -PA").discovery.ping_ports == PortSet.parse("80")
    assert not parse_argv("nmap -n -sn -PE -Pn").discovery.icmp  # -Pn wins, as in nmap
    for refused in ("nmap -n -sn -PY", "nmap -n -sn -PO", "nmap -n -sn -PX"):
        with pytest.raises(ValueError):
            parse_argv(refused)


def test_no_ping_option_means_nmap_s_default_pings():
    d = parse_argv("nmap -n -sT -p 80").discovery
    assert d.icmp and d.tcp_ping and d.ping_ports == PortSet.parse("80,443") and d.arp
    assert parse_argv("nmap -n -sT -p 80 --disable-arp-ping").discovery.arp is False


@pytest.mark.parametrize("command", [
    "nmap -f 10.0.0.1", "nmap -D 10.0.0.2 10.0.0.1", "nmap --mtu 16 x", "nmap --badsum x", "nmap --data-length 20 x",
    "nmap -sI zombie x", "nmap -b ftp x", "nmap -sO x", "nmap -sY x", "nmap --resume log", "nmap --bogus x",
    "nmap --top x", "nmap -sS -sT x", "nmap -p 22 -p 23 x", "nmap -p t:22 x", "nmap -sn -p 22 x", "nmap -F -p 22 x",
    "nmap -p 7-3 x", "nmap -p 70000 x", "nmap --script 'safe and (dos' x", "nmap -T9 x", "nmap -O1 x",
])
def test_what_cannot_be_judged_is_refused(command):
    with pytest.raises(ValueError):
        parse_argv(command)


def test_options_that_only_change_output_or_timing_are_read():
    t = parse_argv("nmap -vv -d2 --debug=3 --reason --open -oX out.xml -oN - -T2 --stats-every 10s -e eth0 -g 53 "
                   "--ttl 64 -n -sT -p 80 -Pn --max-retries 1 --host-timeout 5m -6 --script-timeout 1m ::1")
    assert t.ports == PortSet.parse("80")


def test_timing_never_reads_faster_than_written():
    t = parse_argv("nmap -n -sT -p 80 -Pn --max-rate 1.5 --scan-delay 0.5s --max-scan-delay 200ms "
                   "--max-parallelism 2 --min-parallelism 10 --max-rtt-timeout 1500ms")
    p = t.performance
    assert p.packets_per_second == 2 and p.probe_delay_ms == 200 and p.parallel_checks_per_host == 10
    assert p.timeout_s == 2


def test_render_reads_back_exactly_for_the_example(plan):
    for ct in plan.templates:
        back = parse_argv(render_argv(ct))
        assert not violations(back, ct.constraints, vendor="nmap"), ct.name
        assert back.ports == ct.template.ports and back.performance == ct.template.performance, ct.name


def test_web_crawl_leaves_out_the_crawling_scripts():
    ct = _compiled(safe_only=True, excluded_categories=["web-crawl"])
    t = narrow(ct.template, Constraints())
    argv = render_argv(ct.model_copy(update={"template": t}))
    back = parse_argv(argv)
    assert "web-crawl" in back.checks.excluded_categories
    assert "http-grep" in argv[argv.index("--script") + 1]  # a safe script that crawls
