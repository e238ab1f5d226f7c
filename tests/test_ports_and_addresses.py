"""Port and address sets: interval algebra and their text forms."""

import pytest

from scanguard.model import AddressSet, IntervalSet, PortSet


def test_port_text_round_trips_per_protocol():
    ps = PortSet.parse("7100/tcp, 1-1024, 53/udp, 161-162/udp")
    assert ps.text() == "1-1024/tcp, 7100/tcp, 53/udp, 161-162/udp"
    assert PortSet.parse(ps.text()) == ps


def test_nmap_style_prefixes_are_read():
    assert PortSet.parse("T:80,443,U:53") == PortSet.parse("80/tcp,443/tcp,53/udp")


def test_complement_of_excluded_port_is_two_ranges():
    full = PortSet.all(udp=False)
    assert (full - PortSet.parse("7100/tcp")).text() == "1-7099/tcp, 7101-65535/tcp"


@pytest.mark.parametrize("bad", ["70000", "0", "10-5", "abc", "80/sctp"])
def test_bad_ports_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        PortSet.parse(bad)


def test_whole_port_range_is_one_interval_not_65535_items():
    assert PortSet.all().tcp.intervals == ((1, 65535),)


def test_interval_difference_and_intersection():
    a = IntervalSet([(1, 10), (20, 30)])
    b = IntervalSet([(5, 25)])
    assert (a - b).intervals == ((1, 4), (26, 30))
    assert (a & b).intervals == ((5, 10), (20, 25))
    assert (a | b).intervals == ((1, 30),)


def test_adjacent_intervals_merge():
    assert IntervalSet([(1, 5), (6, 9)]).intervals == ((1, 9),)


def test_a_slash_8_is_one_interval_and_membership_is_exact():
    s = AddressSet.parse(["10.0.0.0/8"])
    assert len(s.v4.intervals) == 1 and s.size() == 2**24
    assert "10.200.3.4" in s and "11.0.0.1" not in s


def test_address_ranges_and_short_ranges():
    s = AddressSet.parse(["10.0.0.1-10.0.0.50", "10.0.1.7-9"])
    assert "10.0.0.50" in s and "10.0.1.8" in s and "10.0.1.10" not in s


def test_address_items_come_back_compact():
    assert AddressSet.parse(["10.0.0.0/24", "10.0.1.5"]).items() == ["10.0.0.0/24", "10.0.1.5"]


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "10.0.0.300", "10.0.0.9-10.0.0.1", "fe80::1-10.0.0.1"])
def test_bad_addresses_are_refused(bad):
    with pytest.raises(ValueError):
        AddressSet.parse([bad])
