"""What else listens on a shared loopback address: a test-bed device on 127.0.0.x shares the
address with every service of the machine bound to 0.0.0.0 (or ::), and a trial must probe only
the device's own ports. Read from the kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6),
so finding them sends nothing."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from ..model.base import Model
from ..model.ports import PortSet

PROC_NET = Path("/proc/net")
TCP_LISTEN = "0A"
"""The state code of a listening TCP socket in /proc/net/tcp."""
UDP_UNCONNECTED = "07"


class Listener(Model):
    """A local socket that accepts connections (tcp) or datagrams (udp) on `address`:`port`."""

    address: str
    port: int
    protocol: Literal["tcp", "udp"]

    @property
    def wildcard(self) -> bool:
        """Bound to every address (0.0.0.0 or ::), the target's included."""
        return ipaddress.ip_address(self.address).is_unspecified

    def reaches(self, target: str) -> bool:
        """Whether traffic to `target` reaches this socket."""
        if self.wildcard:
            return True
        try:
            return ipaddress.ip_address(self.address) == ipaddress.ip_address(target)
        except ValueError:
            return False

    def text(self) -> str:
        """"2024/tcp (bound to 0.0.0.0)"."""
        return f"{self.port}/{self.protocol} (bound to {self.address})"


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # /proc writes an IPv6 address as four host-order 32-bit words
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    addr = ipaddress.IPv6Address(words)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


def listeners(proc_net: Path = PROC_NET) -> list[Listener]:
    """Every listening TCP socket and bound, unconnected UDP socket of this network namespace
    (empty where /proc/net is not there)."""
    out: list[Listener] = []
    for name, proto, state in (("tcp", "tcp", TCP_LISTEN), ("tcp6", "tcp", TCP_LISTEN),
                               ("udp", "udp", UDP_UNCONNECTED), ("udp6", "udp", UDP_UNCONNECTED)):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 4 or cols[3] != state:
                continue
            hex_addr, _, hex_port = cols[1].partition(":")
            try:
                out.append(Listener(address=_address(hex_addr), port=int(hex_port, 16), protocol=proto))  # type: ignore[arg-type]
            except ValueError:
                continue
    return out


def foreign_listeners(target: str, own: PortSet | None, *, found: list[Listener] | None = None) -> list[Listener]:
    """The sockets that traffic to the loopback address `target` reaches but that are not the
    device's: with `own` (the device's ports, when known) every listener reaching `target` on
    another port; without, the wildcard listeners (a device under test binds its own address;
    what listens on 0.0.0.0 is the machine's). Sorted by protocol and port, one per port."""
    try:
        if not ipaddress.ip_address(target).is_loopback:
            return []
    except ValueError:
        return []
    seen: dict[tuple[str, int], Listener] = {}
    for lst in listeners() if found is None else found:
        if not lst.reaches(target):
            continue
        mine = own.contains(lst.port, lst.protocol) if own is not None else not lst.wildcard
        if not mine:
            seen.setdefault((lst.protocol, lst.port), lst)
    return [seen[k] for k in sorted(seen)]
