"""Reading .nessus v2 results: every real export parses, hosts stream one at a time."""

import io

import pytest

from scanguard import PortSet
from scanguard_nessus.plugin import NESSUS
from scanguard_tenable_policy.results import parse_nessus


@pytest.mark.fixtures
def test_every_fixture_export_parses(fixtures_dir):
    files = sorted((fixtures_dir / "results" / "nessus").glob("*.nessus"))
    assert files
    for path in files:
        with path.open("rb") as f:
            hosts = list(NESSUS.parse_results(f))
        assert hosts, path.name
        assert all(h.items for h in hosts)


@pytest.mark.fixtures
def test_basic_network_scan_host(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "basic-network-scan.nessus").open("rb") as f:
        (h,) = list(parse_nessus(f))
    assert h.address == "44.228.249.3" and h.hostname == "testphp.vulnweb.com"
    assert h.os == "Linux Kernel 2.6"
    assert "cpe:/a:nginx:nginx:1.19.0" in h.cpes
    assert h.open_ports == PortSet.parse("80")
    assert h.start is not None and h.end is not None and h.start < h.end
    assert any(i.check_id == "19506" and i.family == "Settings" for i in h.items)


@pytest.mark.fixtures
def test_old_export_dates_without_timestamps(fixtures_dir):
    with (fixtures_dir / "results" / "nessus" / "web-app-tests.nessus").open("rb") as f:
        (h,) = list(parse_nessus(f))
    assert h.start.isoformat() == "2013-06-25T10:32:42"
    assert h.os == "CISCO PIX 7.0" and h.open_ports.contains(443)


def _export(n: int) -> bytes:
    hosts = "".join(
        f'<ReportHost name="10.0.0.{i}"><HostProperties><tag name="host-ip">10.0.0.{i}</tag>'
        f'<tag name="mac-address">00:03:81:aa:bb:{i:02x}\n00:03:81:aa:bb:ff</tag></HostProperties>'
        f'<ReportItem port="7100" svc_name="unknown" protocol="tcp" severity="0" pluginID="11219" '
        f'pluginName="Nessus SYN scanner" pluginFamily="Port scanners"><plugin_output>Port 7100/tcp was found to be open'
        f'</plugin_output></ReportItem></ReportHost>'
        for i in range(1, n + 1)
    )
    return f'<?xml version="1.0" ?><NessusClientData_v2><Report name="r">{hosts}</Report></NessusClientData_v2>'.encode()


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, n=-1):
        chunk = super().read(n)
        self.read_bytes += len(chunk)
        return chunk


def test_hosts_stream_before_the_file_is_read():
    data = _export(3000)
    stream = _Counting(data)
    first = next(parse_nessus(stream, "big.nessus"))
    assert first.address == "10.0.0.1"
    assert stream.read_bytes < len(data) // 2


def test_mac_and_open_ports_from_report_items():
    (h,) = list(parse_nessus(io.BytesIO(_export(1))))
    assert h.mac == "00:03:81:AA:BB:01"
    assert h.open_ports == PortSet.parse("7100")
    assert h.items[0].detail.startswith("Port 7100/tcp")
