"""The nmap vendor holds the conformance invariant, and its argument vectors say what we mean."""

from scanguard import PortSet, compile_plan, load_workspace
from scanguard.testing.conformance import vendor_conformance_test
from scanguard_nmap.argv import parse_argv, render_argv
from scanguard_nmap.nse import Selection, parse_rules
from scanguard_nmap.plugin import scanguard_vendors

NMAP = scanguard_vendors()[0]

test_round_trip_never_less_safe = vendor_conformance_test(NMAP, max_examples=1000)


def _plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def test_no_rendered_template_probes_7100(example_workspace):
    for ct in _plan(example_workspace).templates:
        back = parse_argv(render_argv(ct))
        assert not back.ports.contains(7100, "tcp"), ct.name


def test_exclude_ports_carries_the_profiles_exclusions(example_workspace):
    ct = _plan(example_workspace).get("full-audit@payment-terminals")
    argv = render_argv(ct)
    assert argv[argv.index("--exclude-ports") + 1] == "T:7100"
    assert "-n" in argv


def test_connect_scan_when_syn_is_forbidden(example_workspace):
    argv = render_argv(_plan(example_workspace).get("full-audit@energy-plcs"))
    assert "-sT" in argv and "-sS" not in argv
    assert argv[argv.index("--max-rate") + 1] == "20"
    assert argv[argv.index("--scan-delay") + 1] == "250ms"


def test_script_expression_leaves_out_forbidden_categories(example_workspace):
    argv = render_argv(_plan(example_workspace).get("full-audit@energy-plcs"))
    selection = Selection(parse_rules(argv[argv.index("--script") + 1]))
    for term in ("dos", "intrusive", "brute", "exploit", "fuzzer"):
        assert not selection.category_can_run(term)


def test_no_icmp_ping_when_icmp_is_forbidden(example_workspace):
    argv = render_argv(_plan(example_workspace).get("discovery@hvac"))
    assert "-PE" not in argv


def test_parse_reads_a_plain_command_line():
    t = parse_argv("nmap -n -sT -p T:1-100,U:53 -sU --exclude-ports T:80 -Pn --max-rate 10")
    assert t.ports == PortSet.parse("1-79,81-100,53/udp")
    assert t.discovery.port_scan == "connect"
    assert not (t.discovery.icmp or t.discovery.tcp_ping)
    assert t.performance.packets_per_second == 10


def test_broadcast_and_external_scripts_never_run(example_workspace):
    for ct in _plan(example_workspace).templates:
        argv = render_argv(ct)
        if "--script" in argv:
            selection = Selection(parse_rules(argv[argv.index("--script") + 1]))
            assert not selection.category_can_run("broadcast") and not selection.category_can_run("external"), ct.name
