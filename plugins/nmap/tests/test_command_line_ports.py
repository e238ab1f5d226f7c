"""A command line is read for the ports nmap itself scans: its own top ports when none are named,
-F, --top-ports, --port-ratio, -p- and open ranges, T:/U: prefixes (unprefixed ports count for
TCP and UDP alike), service names and [brackets], --exclude-ports. The installed nmap is the
judge: with no target it prints the ports it would scan and sends nothing (conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanguard import PortSet
from scanguard_nmap.argv import parse_argv

PORT_OPTIONS = [
    [], ["-sU"], ["-sS", "-sU"], ["-sT"], ["-sV"], ["-F"], ["-sU", "-F"], ["--top-ports", "10"],
    ["-sS", "-sU", "--top-ports", "2000"], ["--port-ratio", "0.05"], ["--port-ratio", "0.131314"], ["-p-"],
    ["-p", "-100"], ["-p", "60000-"], ["-p", "0-3"], ["-p22"], ["-sS", "-sU", "-p", "22,53"],
    ["-sS", "-sU", "-p", "22,U:53"], ["-sS", "-sU", "-p", "T:22,U:53,80"], ["-sS", "-sU", "-p", "U:53,T:22,80"],
    ["-sS", "-p", "U:53,T:22"], ["-sU", "-p", "22"], ["-p", "http"], ["-sS", "-sU", "-p", "http*"], ["-p", "ht?p"],
    ["-p", "[1-100]"], ["-p", "[1024-]"], ["-sU", "-p", "[1-30]"], ["-p", "ssh,http,22-25"], ["-p", "*"],
    ["-sS", "-sU", "-p", "T:http*,U:domain"], ["-p", "1-100", "--exclude-ports", "80"],
    ["-sS", "-sU", "-p", "1-100", "--exclude-ports", "53"], ["-sS", "-sU", "-p", "1-100", "--exclude-ports", "U:53"],
    ["-sS", "-sU", "-p", "1-100", "--exclude-ports", "T:1-50,U:60"], ["-F", "--exclude-ports", "80"],
    ["-sS", "-sU", "--top-ports", "3", "--exclude-ports", "T:80"], ["--top-ports", "5", "-p", "1-100"],
    ["--port-ratio", "0.1", "--top-ports", "5"], ["--top-ports", "5", "--port-ratio", "0.1"],
    ["-F", "--top-ports", "5"], ["-p", "22", "--exclude-ports", "http"], ["-sA"], ["-sSU", "-p", "7100"],
    ["--top-ports=20", "-sU"], ["-sT", "-r", "-p", "1-1024"],
]


def _read(options: list[str]) -> PortSet:
    # -Pn: no ping, so the template's ports are the port scan's alone
    return parse_argv(["nmap", "-n", "-Pn", *options]).ports


@pytest.mark.nmap
@pytest.mark.parametrize("options", PORT_OPTIONS, ids=lambda o: " ".join(o) or "(no port option)")
def test_the_ports_read_are_the_ports_nmap_scans(real_nmap, options):
    assert _read(options) == real_nmap.scanned_ports(["-n", "-Pn", *options])


@pytest.mark.nmap
@settings(max_examples=15, deadline=None)
@given(count=st.integers(1, 9000), udp=st.booleans())
def test_top_ports_are_nmap_s_ranking(real_nmap, count, udp):
    options = ["--top-ports", str(count)] + (["-sU"] if udp else [])
    assert _read(options) == real_nmap.scanned_ports(["-n", "-Pn", *options])


@pytest.mark.nmap
def test_without_p_nmap_scans_its_top_ports_not_1_to_1000(real_nmap):
    ports = _read(["-sT"])
    assert ports.contains(7100, "tcp")
    assert len(ports.tcp) == 1000 and len(ports.tcp - PortSet.parse("1-1000").tcp) == 855
    assert ports == real_nmap.scanned_ports(["-n", "-Pn", "-sT"])


def test_unprefixed_ports_count_for_udp_too_when_udp_is_scanned():
    assert _read(["-sT", "-sU", "-p", "53,7100"]) == PortSet.parse("53/tcp,7100/tcp,53/udp,7100/udp")


def test_without_nmap_s_port_list_the_default_ports_cannot_be_judged(monkeypatch, tmp_path):
    monkeypatch.setattr("scanguard_nmap.services.candidates", lambda datadir=None: [tmp_path / "nmap-services"])
    for options in ([], ["-F"], ["--top-ports", "10"], ["-p", "http"], ["-p", "[1-100]"], ["-p", "1-100", "--exclude-ports", "http"]):
        with pytest.raises(ValueError, match="nmap-services"):
            _read(options)
    assert _read(["-p", "1-100", "--exclude-ports", "80"]) == PortSet.parse("1-79,81-100")


def test_a_datadir_is_where_the_port_list_is_read(tmp_path):
    (tmp_path / "nmap-services").write_text("a\t7100/tcp\t0.9\nb\t22/tcp\t0.5\nc\t23/tcp\t0.1\nd\t53/udp\t0.3\n")
    assert _read(["--datadir", str(tmp_path), "--top-ports", "2"]) == PortSet.parse("22,7100")
    assert _read(["--datadir", str(tmp_path), "-sU", "-p", "d"]) == PortSet.parse("53/udp")


_ITEMS = st.tuples(st.sampled_from(["", "T:", "U:"]), st.integers(0, 70000),
                   st.one_of(st.none(), st.integers(0, 70000)))


@settings(max_examples=300, deadline=None)
@given(items=st.lists(_ITEMS, min_size=1, max_size=40))
def test_rendered_port_lists_read_in_one_pass_as_item_by_item(items):
    """scanguard's renderings list thousands of ports and ranges: they are read in one pass, which
    must read exactly what nmap's item-by-item reading does, refusals included."""
    from scanguard_nmap import command

    spec = ",".join(f"{prefix}{lo}" + (f"-{hi}" if hi is not None else "") for prefix, lo, hi in items)

    def no_services():
        raise AssertionError("ports and ranges need no service names")

    try:
        expected = command._spec_ports_by_item(spec, "-p", ("tcp", "udp"), no_services)
    except ValueError:
        expected = None  # a port above 65535 or a range that runs backwards: nmap refuses it
    assert command._simple_spec_ports(spec) == expected
    if expected is not None:
        assert parse_argv(["nmap", "-n", "-Pn", "-sS", "-sU", "-p", spec]).ports == expected
