"""Protocols an advisory may name instead of a port, and their well-known ports.

Only protocols with one canonical, IANA-registered port that scanners actually probe are listed:
a protocol named without a port (``a crafted request over Modbus``) stands for that port, and a
draft built on it says the port was inferred. Protocols without one canonical port (CODESYS,
IPsec, PROFINET, proprietary "RPC services") are left out on purpose: guessing a port there would
cost a scan's coverage for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model.ports import PortSet


@dataclass(frozen=True)
class KnownProtocol:
    """An application protocol: its name, how texts write it, and its well-known ports."""

    name: str
    pattern: re.Pattern[str]
    ports: PortSet
    family: str


def _p(name: str, pattern: str, ports: str, family: str | None = None) -> KnownProtocol:
    return KnownProtocol(name, re.compile(pattern, re.IGNORECASE), PortSet.parse(ports), family or name)


PROTOCOLS: tuple[KnownProtocol, ...] = (
    _p("modbus", r"\bmodbus\b", "502/tcp"),
    _p("ethernet/ip", r"\bethernet/ip\b|\benip\b|\bcip\b", "44818/tcp", "cip"),
    _p("s7comm", r"\bs7\s?comm(?:unication)?\b|\bs7 protocol\b|\biso[- ]tsap\b|\bcotp\b|\biec[- ]?61850[- ]mms\b",
       "102/tcp"),
    _p("dnp3", r"\bdnp\s?3\b", "20000/tcp"),
    _p("bacnet", r"\bbacnet\b", "47808/udp"),
    _p("opc ua", r"\bopc[- ]?ua\b", "4840/tcp"),
    _p("iec 104", r"\biec[- ]?60870-5-104\b|\biec[- ]?104\b", "2404/tcp"),
    _p("omron fins", r"\bfins\b", "9600/udp"),
    _p("hart-ip", r"\bhart[- ]ip\b", "5094/tcp"),
    _p("snmp", r"\bsnmp(?:v[123]c?)?\b", "161/udp"),
    _p("tftp", r"\btftp\b", "69/udp"),
    _p("ftp", r"(?<![st])\bftp\b|\bfile transfer protocol\b", "21/tcp"),
    _p("telnet", r"\btelnet\b", "23/tcp"),
    _p("ssh", r"\bssh(?:v2)?\b", "22/tcp"),
    _p("https", r"\bhttps\b", "443/tcp", "web"),
    _p("http", r"\bhttp\b(?![s/])|\bhttp/1|\bget requests?\b", "80/tcp", "web"),
    _p("web", r"\bweb[- ]?(?:server|interface|service|application|ui|page|portal|management|site|socket)s?\b|"
              r"\bwebserver\b|\burl\b", "80/tcp, 443/tcp", "web"),
    _p("dns", r"\bdns\b|\bdnsmasq\b", "53/udp"),
    _p("ntp", r"\bntp\b|\bnetwork time protocol\b", "123/udp"),
    _p("smb", r"\bsmb(?:v[123])?\b|\bcifs\b", "445/tcp"),
    _p("rdp", r"\brdp\b|\bremote desktop protocol\b", "3389/tcp"),
    _p("vnc", r"vnc\b", "5900/tcp"),  # UltraVNC, SmartVNC, TightVNC: the protocol ends the product name
    _p("dicom", r"\bdicom\b", "104/tcp"),
    _p("hl7", r"\bhl7\b", "2575/tcp"),
    _p("mqtt", r"\bmqtt\b", "1883/tcp"),
    _p("coap", r"\bcoap\b", "5683/udp"),
    _p("ike", r"\bikev?[12]?\b|\binternet key exchange\b", "500/udp"),
    _p("rmi", r"\b(?:java )?rmi\b", "1099/tcp"),
    _p("smart install", r"\bsmart install\b", "4786/tcp"),
    _p("upnp", r"\bupnp\b|\bssdp\b", "1900/udp"),
    _p("echo", r"\becho (?:service|protocol|server)\b", "7/tcp, 7/udp"),
    _p("chargen", r"\bchargen\b", "19/tcp, 19/udp"),
    _p("syslog", r"\bsyslog\b", "514/udp"),
    _p("rtsp", r"\brtsp\b", "554/tcp"),
    _p("smtp", r"\bsmtp\b", "25/tcp"),
)
"""Application protocols by name (order: the more specific pattern first)."""

BY_NAME = {p.name: p for p in PROTOCOLS}


def protocols_in(text: str) -> list[KnownProtocol]:
    """The known protocols a text names, in table order, each once."""
    return [p for p in PROTOCOLS if p.pattern.search(text)]


def families_of(ports: PortSet) -> set[str]:
    """The protocol families whose well-known ports these are ("web" for 80/tcp)."""
    return {p.family for p in PROTOCOLS if p.ports & ports}


def transport_of(port: int) -> str | None:
    """The transport of a well-known port when it is unambiguous (161 -> udp), else None."""
    protos = {proto for p in PROTOCOLS for proto in ("tcp", "udp") if p.ports.contains(port, proto)}  # type: ignore[arg-type]
    return protos.pop() if len(protos) == 1 else None
