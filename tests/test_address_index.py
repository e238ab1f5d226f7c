"""Address helpers compile and the vendors lean on: the overlap index, blocks that nmap and
nessusd.rules can read, lenient parsing of what scanners hold, and the fast IPv4 path."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from scanguard.model.address_index import AddressIndex
from scanguard.model.addresses import AddressSet, parse_address_item
from scanguard.model.intervals import IntervalSet

intervals = st.tuples(st.integers(0, 20_000), st.integers(0, 6_000)).map(lambda t: (t[0], t[0] + t[1]))
sets = st.lists(intervals, min_size=1, max_size=4).map(lambda ivs: AddressSet(IntervalSet(ivs)))


@settings(max_examples=200, deadline=None)
@given(st.lists(sets, max_size=12), sets)
def test_the_index_finds_exactly_the_keys_that_overlap(entries, query):
    index = AddressIndex(enumerate(entries))
    assert index.overlapping(query) == {k for k, s in enumerate(entries) if s.overlaps(query)}


@settings(max_examples=200, deadline=None)
@given(sets)
def test_blocks_cover_exactly_the_set_without_ranges(s):
    blocks = s.blocks()
    assert not any("-" in b for b in blocks)
    assert AddressSet.parse(blocks) == s


def test_parse_known_keeps_the_addresses_and_names_the_rest():
    got, unknown = AddressSet.parse_known(["10.0.0.1", "printer.lan", "10.0.1.0/24", "10.0.2.1-5"])
    assert got == AddressSet.parse(["10.0.0.1", "10.0.1.0/24", "10.0.2.1-10.0.2.5"]) and unknown == ["printer.lan"]


def test_union_all_is_the_union():
    parts = [AddressSet.parse(["10.0.0.0/30"]), AddressSet.parse(["10.0.0.4/30", "::1"])]
    assert AddressSet.union_all(parts) == parts[0] | parts[1]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.one_of(st.none(), st.integers(0, 32)))
def test_the_fast_ipv4_path_reads_as_ipaddress_does(value, prefix):
    text = str(ipaddress.IPv4Address(value)) + ("" if prefix is None else f"/{prefix}")
    net = ipaddress.ip_network(text, strict=False)
    assert parse_address_item(text) == (4, int(net.network_address), int(net.broadcast_address))
