"""Real nmap reads every rendered template as scanguard means it: it lists exactly the template's
targets (include minus exclude), accepts every option, scans exactly the template's ports, and its
script expression selects no script the template excludes. Each rendering of the example
workspace and of generated workspaces (hosts, CIDRs, ranges, overlaps, IPv6) is run through the
installed nmap in an empty network namespace (see conftest.py): nothing is sent anywhere."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanguard import AddressSet, CompiledTemplate, compile_plan, load_workspace
from scanguard.testing.strategies import compiled_templates
from scanguard_nmap.argv import render_argv
from scanguard_nmap.plugin import scanguard_vendors

pytestmark = pytest.mark.nmap
NMAP = scanguard_vendors()[0]


def render_argvs(ct: CompiledTemplate) -> list[list[str]]:
    """The vendor's rendering: one nmap run per address family."""
    doc = NMAP.render(ct)
    return [doc["argv"]] + ([doc["argv6"]] if "argv6" in doc else [])


def _mapping():
    from scanguard_nmap import mapping

    return mapping


def _family(addresses: AddressSet, fam: int) -> AddressSet:
    return AddressSet(addresses.v4, None) if fam == 4 else AddressSet(None, addresses.v6)


def _tail(ct: CompiledTemplate, argv: list[str]) -> list[str]:
    """What follows the options: [-6] [--exclude LIST] TARGETS..."""
    options = render_argv(ct, with_targets=False)
    assert argv[:len(options)] == options
    return argv[len(options):]


def assert_nmap_lists_exactly_the_targets(real_nmap, ct: CompiledTemplate) -> None:
    include, exclude = ct.targets.include, ct.targets.exclude
    for argv in render_argvs(ct):
        tail = _tail(ct, argv)
        fam = 6 if "-6" in tail else 4
        if include:
            assert real_nmap.listed(tail) == _family(include - exclude, fam), (ct.name, tail[:6])
        elif "--exclude" in tail:
            # targets are chosen on the scanner: nmap must still read every exclusion (no name
            # lookup): the excluded addresses, listed as targets, all disappear
            excluded = tail[tail.index("--exclude") + 1]
            for f in (4, 6):
                items = [i for i in excluded.split(",") if (":" in i) == (f == 6)]
                if items:
                    assert real_nmap.listed((["-6"] if f == 6 else []) + ["--exclude", excluded, *items]) == AddressSet()


@lru_cache(maxsize=256)
def _selected(real_nmap, expression: str) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((name, frozenset(cats)) for name, cats in real_nmap.script_categories(expression).items())


def assert_nmap_accepts_the_options_and_scans_the_ports(real_nmap, ct: CompiledTemplate) -> None:
    t = ct.template
    for argv in render_argvs(ct):
        options = render_argv(ct, with_targets=False)[1:]
        expression = None
        if "--script" in options:
            i = options.index("--script")
            expression = options[i + 1]
            options = options[:i] + options[i + 2:]  # with no target nmap would still run prerule scripts
        tail = _tail(ct, argv)
        if "-6" in tail:
            options.append("-6")
        if "--exclude" in tail:
            options += tail[tail.index("--exclude"):tail.index("--exclude") + 2]
        assert real_nmap.scanned_ports(options) == t.ports, ct.name
        if expression is not None:
            assert_the_expression_keeps_the_checks(real_nmap, ct, expression, "-sV" in argv)


def assert_the_expression_keeps_the_checks(real_nmap, ct: CompiledTemplate, expression: str, version: bool) -> None:
    m = _mapping()
    ch = ct.template.checks
    selected = dict(_selected(real_nmap, expression))
    assert selected, f"{ct.name}: {expression!r} selects no script"
    left_out = set(m.ALWAYS_LEFT_OUT)
    for cat in ch.excluded_categories:
        left_out.update(m.CATEGORY_TERMS.get(cat, ()))
    left_out |= {vc.id for vc in ch.excluded_vendor_checks if vc.vendor == "nmap"}
    for name, cats in selected.items():
        assert not (cats | {name}) & left_out, f"{ct.name}: {expression!r} selects {name} {sorted(cats)}"
        if ch.safe_only:
            assert "safe" in cats, f"{ct.name}: safe checks only, yet {name} {sorted(cats)} runs"
    if version:
        from scanguard_nmap.argv import version_detection_allowed

        assert version_detection_allowed(ct.template)


@pytest.fixture(scope="module")
def example_plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def test_real_nmap_lists_exactly_the_targets_of_every_example_template(real_nmap, example_plan):
    for ct in example_plan.templates:
        assert_nmap_lists_exactly_the_targets(real_nmap, ct)


def test_real_nmap_accepts_every_example_template_and_scans_its_ports(real_nmap, example_plan):
    for ct in example_plan.templates:
        assert_nmap_accepts_the_options_and_scans_the_ports(real_nmap, ct)


def test_no_rendering_selects_a_script_that_looks_names_up(real_nmap, example_plan):
    # fcrdns is "safe", yet it asks the scanning machine's resolver whatever -n says
    lookups = set(_mapping().NAME_LOOKUP_SCRIPTS)
    rendered = [render_argv(ct, with_targets=False) for ct in example_plan.templates]
    expressions = {argv[argv.index("--script") + 1] for argv in rendered if "--script" in argv}
    assert expressions
    for expression in expressions:
        selected = dict(_selected(real_nmap, expression))
        assert selected and not lookups & set(selected), expression
    assert "fcrdns" in dict(_selected(real_nmap, "safe"))  # what the rendering leaves out is there to select


def test_the_example_ranges_are_written_as_nmap_reads_them(example_plan):
    argv = render_argv(example_plan.get("full-audit"))
    excluded = argv[argv.index("--exclude") + 1].split(",")
    assert "10.20.60.0/24" in excluded and "10.20.61.0/25" in excluded  # 10.20.60.0-10.20.61.127
    assert "10.40.20.11" in excluded and "10.40.20.12" in excluded  # 10.40.20.11-10.40.20.12
    assert not any("-" in i for i in excluded)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ct=compiled_templates())
def test_real_nmap_accepts_generated_templates_and_keeps_their_checks(real_nmap, ct):
    assert_nmap_accepts_the_options_and_scans_the_ports(real_nmap, ct)


# --- generated workspaces: hosts, CIDRs, ranges and overlaps, IPv4 and IPv6 -------------------

_V4_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
_V6_BASE = int(ipaddress.IPv6Address("fd00::"))


@st.composite
def _v4_item(draw) -> str:
    """A host, CIDR (/16 to /32) or range (within a /8, up to 70,000 addresses, across /24s)."""
    kind = draw(st.sampled_from(["host", "cidr", "range", "short-range"]))
    lo = _V4_BASE + draw(st.integers(0, (1 << 24) - 70_001))
    if kind == "host":
        return str(ipaddress.IPv4Address(lo))
    if kind == "cidr":
        prefix = draw(st.integers(16, 32))
        return str(ipaddress.IPv4Network((lo, prefix), strict=False))
    if kind == "short-range":
        hi = min(lo | 0xFF, lo + draw(st.integers(0, 255)))
        return f"{ipaddress.IPv4Address(lo)}-{hi & 0xFF}"
    size = draw(st.one_of(st.integers(0, 600), st.integers(0, 70_000)))
    return f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(lo + size)}"


@st.composite
def _v6_item(draw) -> str:
    """An IPv6 host, CIDR (/116 to /128) or range (up to 4,096 addresses)."""
    kind = draw(st.sampled_from(["host", "cidr", "range"]))
    lo = _V6_BASE + draw(st.integers(0, 1 << 20))
    if kind == "host":
        return str(ipaddress.IPv6Address(lo))
    if kind == "cidr":
        return str(ipaddress.IPv6Network((lo, draw(st.integers(116, 128))), strict=False))
    return f"{ipaddress.IPv6Address(lo)}-{ipaddress.IPv6Address(lo + draw(st.integers(0, 4096)))}"


def _near(items: list[str]) -> st.SearchStrategy[str]:
    """An address inside or at the edge of what is already there (overlaps and nesting)."""
    def pick(data) -> str:
        base = AddressSet.parse(data[0])
        fam = 4 if base.v4 else 6
        lo, hi = (base.v4 if fam == 4 else base.v6).intervals[0]
        mk = ipaddress.IPv4Address if fam == 4 else ipaddress.IPv6Address
        a = min(hi, lo + data[1] % (hi - lo + 1))
        return str(mk(a)) if data[2] else f"{mk(a)}-{mk(min(hi + 3, a + data[1] % 300))}"
    return st.tuples(st.sampled_from(items), st.integers(0, 1 << 20), st.booleans()).map(pick)


@st.composite
def workspaces(draw) -> dict:
    targets = draw(st.lists(st.one_of(_v4_item(), _v6_item()), min_size=1, max_size=3))
    profiles = []
    for i in range(draw(st.integers(0, 4))):
        where = draw(st.lists(st.one_of(_near(targets), _v4_item(), _v6_item()), min_size=1, max_size=3))
        policy = draw(st.sampled_from(["scan", "restricted", "never"]))
        profiles.append({"id": f"dev{i}", "where": where, "policy": policy,
                         "group": draw(st.sampled_from(["g1", "g2", None])),
                         "port": draw(st.sampled_from([None, "7100/tcp", "502/tcp", "161/udp"]))})
    return {"targets": targets, "profiles": profiles}


def _write(root: Path, spec: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "profiles").mkdir(exist_ok=True)
    (root / "templates").mkdir(exist_ok=True)
    (root / "scanguard.toml").write_text(
        '[workspace]\nname = "generated"\nstate = "state.db"\n\n[scanners.nmap-gen]\ntype = "nmap"\n'
        f"targets = {json.dumps(spec['targets'])}\n")
    (root / "templates" / "full-audit.yaml").write_text(
        'name: full-audit\nports: {tcp: "1-1024,7100", udp: "53,161"}\n'
        'discovery: {icmp: true, arp: true, tcp_ping: true, ping_ports: "22,80,443", port_scan: syn}\n'
        "checks: {enabled: true, safe_only: true}\n"
        "performance: {parallel_hosts: 30, parallel_checks_per_host: 5, timeout_s: 5}\n")
    for p in spec["profiles"]:
        hosts = [w for w in p["where"] if "-" not in w and "/" not in w]
        cidrs = [w for w in p["where"] if "/" in w]
        ranges = [w for w in p["where"] if "-" in w]
        lines = [f"id: {p['id']}", f"name: Device {p['id']}", f"policy: {p['policy']}",
                 "location: " + json.dumps({"hosts": hosts, "cidrs": cidrs, "ranges": ranges})]
        if p["group"] and p["policy"] == "restricted":
            lines.append(f"group: {p['group']}")
        if p["policy"] == "never":
            lines.append("risk_acceptance: {accepted_by: CISO, accepted_on: 2026-01-01, expires: 2030-01-01, "
                         "reason: fragile, compensating_controls: [ACL-1]}")
        if p["port"]:
            lines.append(f'constraints: {{excluded_ports: [{{ports: "{p["port"]}", reason: crashes}}]}}')
        (root / "profiles" / f"{p['id']}.yaml").write_text("\n".join(lines) + "\n")
    return root


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=workspaces())
def test_real_nmap_lists_exactly_the_targets_of_generated_workspaces(real_nmap, tmp_path_factory, spec):
    root = _write(tmp_path_factory.mktemp("ws"), spec)
    plan = compile_plan(load_workspace(root))
    assert plan.templates
    for ct in plan.templates:
        assert_nmap_lists_exactly_the_targets(real_nmap, ct)


def test_version_detection_runs_only_scripts_of_the_categories_scanguard_expects(real_nmap):
    # -sV runs nmap's "version" scripts whatever --script says: their categories decide when
    # scanguard may render -sV (VERSION_SCRIPT_CATEGORIES)
    m = _mapping()
    scripts = dict(_selected(real_nmap, "version"))
    assert scripts
    for name, cats in scripts.items():
        assert cats <= m.VERSION_SCRIPT_CATEGORIES, (name, cats)
        assert name not in m.CATEGORY_TERMS["web-crawl"]


def test_web_crawl_is_every_script_that_crawls(real_nmap):
    # the neutral web-crawl category leaves out every script built on nmap's crawler (httpspider)
    folder = next((p for p in (Path(d) / "scripts" for d in ("/usr/share/nmap", "/usr/local/share/nmap"))
                   if (p / "script.db").is_file()), None)
    if folder is None:
        pytest.skip("nmap's scripts folder was not found")
    crawlers = {f.stem for f in folder.glob("*.nse") if "httpspider" in f.read_text(errors="replace")}
    assert crawlers == set(_mapping().CATEGORY_TERMS["web-crawl"])


def test_the_nse_categories_scanguard_knows_are_nmap_s(real_nmap):
    from scanguard_nmap.nse import CATEGORIES

    seen = set().union(*(cats for _, cats in _selected(real_nmap, "all")))
    assert seen == set(CATEGORIES)
