"""Addresses as gvmd reads them, and targets cut to gvmd's limit."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scanguard import AddressSet, IntervalSet
from scanguard_gvm.hosts import gvm_items, read_gvm_hosts, split

BASE = int(ipaddress.IPv4Address("10.40.0.0"))


def v4(*spans: tuple[int, int]) -> AddressSet:
    return AddressSet(IntervalSet([(BASE + a, BASE + b) for a, b in spans]))


@pytest.mark.parametrize("text,first,last", [
    ("10.40.0.0/28", "10.40.0.1", "10.40.0.14"),        # a block without its network and broadcast address
    ("10.40.0.0-10.40.0.15", "10.40.0.0", "10.40.0.15"),  # a range as written
    ("10.40.0.3-9", "10.40.0.3", "10.40.0.9"),            # the short form
    ("2001:db8::/126", "2001:db8::1", "2001:db8::2"),
])
def test_host_text_reads_as_gvm_libs_expands_it(text, first, last):
    addresses, other = read_gvm_hosts(text)
    assert other == () and addresses == AddressSet.parse(f"{first}-{last}")


@pytest.mark.parametrize("text", ["10.40.0.0/31", "10.40.0.0/32", "gvm.example", "not"])
def test_what_is_no_address_for_gvmd_is_kept_as_written(text):
    assert read_gvm_hosts(text) == (AddressSet(), (text,))


def test_written_text_is_exact_ranges_that_read_back_unchanged():
    addresses = AddressSet.parse("10.40.0.0/28, 10.40.20.11, 2001:db8::/120")
    text = gvm_items(addresses)
    assert text == ["10.40.0.0-10.40.0.15", "10.40.20.11", "2001:db8::-2001:db8::ff"]
    assert read_gvm_hosts(", ".join(text))[0] == addresses


def test_a_template_within_the_limit_stays_one_target_with_all_its_exclusions():
    (part,), exact = split(v4((0, 4094)), v4((7, 7), (9000, 9001)), 4095)
    assert (part.hosts, part.exclude, exact) == (v4((0, 4094)), v4((7, 7), (9000, 9001)), True)


def test_exclusions_beyond_the_limit_are_cut_to_those_inside_the_hosts():
    (part,), exact = split(v4((0, 99)), v4((7, 7), (10000, 19999)), 4095)
    assert (part.exclude, exact) == (v4((7, 7)), False)


def test_a_template_whose_every_address_is_excluded_gets_no_target():
    assert split(v4((0, 15)), v4((0, 15)), 4095) == ([], False)


def test_more_exclusions_inside_the_hosts_than_a_target_takes_are_refused():
    with pytest.raises(ValueError, match="exclude 4096 addresses"):
        split(v4((0, 9999)), v4((0, 4095)), 4095)


spans = st.lists(st.tuples(st.integers(0, 30000), st.integers(0, 3000)), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(include=spans, exclude=st.lists(st.tuples(st.integers(0, 30000), st.integers(0, 200)), max_size=4),
       limit=st.integers(1, 5000))
def test_the_parts_name_exactly_the_template_and_each_fits_the_limit(include, exclude, limit):
    inc = v4(*((a, a + n) for a, n in include))
    exc = v4(*((a, a + n) for a, n in exclude))
    try:
        parts, _exact = split(inc, exc, limit)
    except ValueError:
        assert (exc & inc).size() > limit or (inc - exc).size() > 256 * limit
        return
    scanned = AddressSet()
    for p in parts:
        assert p.hosts.size() <= limit and p.exclude.size() <= limit and p.hosts - p.exclude
        scanned = scanned | (p.hosts - p.exclude)
    assert scanned == inc - exc
