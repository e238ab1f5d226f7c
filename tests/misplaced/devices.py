"""Devices written into real exports: one description of a host, in each vendor's own shape,
planted into copies of the real exports of ../shared/fixtures/results.

The shapes are those the real files show (nmap -oX, .nessus v2, GVM report XML as gvmd 26 prints
it, NexposeReport 2.0): an nmap product becomes a Nessus banner retrieval (plugin 11154, a hex
dump), a GVM product detection (result/detection with product, location and source_name) and an
InsightVM service fingerprint; a certificate subject becomes nmap's ssl-cert output, Nessus's
10863 Subject Name block, GVM's tls_certificate subject_dn and an InsightVM service
configuration value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

VENDORS = ("nmap", "nessus", "gvm", "insightvm")
FIXTURE = {
    "nmap": "nmap/version-scan.xml",
    "nessus": "nessus/basic-network-scan.nessus",
    "gvm": "gvm/metasploitable2-report.xml",
    "insightvm": "nexpose/dns.xml",
}
"""The real export each vendor's devices are planted into."""
SUFFIX = {"nmap": ".xml", "nessus": ".nessus", "gvm": ".xml", "insightvm": ".xml"}


@dataclass(frozen=True)
class Service:
    """One open port and what a scanner can tell about it."""

    port: int
    proto: str = "tcp"
    name: str | None = None
    product: str | None = None
    version: str | None = None
    http_title: str | None = None
    subject_cn: str | None = None
    subject_o: str | None = None


@dataclass(frozen=True)
class Device:
    """A host as the scanners see it."""

    address: str
    services: tuple[Service, ...] = ()
    mac: str | None = None
    os: str | None = None
    label: str = ""
    profiles: frozenset[str] = field(default_factory=frozenset)
    """The profiles this host truly is (the labelled set's ground truth)."""


def _q(text: str) -> str:
    return escape(text, quote=True)


# -- nmap -----------------------------------------------------------------------------------------
def nmap_host(d: Device) -> str:
    addr = f'<address addr="{d.address}" addrtype="ipv4"/>'
    if d.mac:
        addr += f'\n<address addr="{d.mac}" addrtype="mac"/>'
    ports = []
    for s in d.services:
        attrs = f'name="{_q(s.name or "unknown")}"'
        if s.product:
            attrs += f' product="{_q(s.product)}"'
        if s.version:
            attrs += f' version="{_q(s.version)}"'
        attrs += ' method="probed" conf="10"' if s.product else ' method="table" conf="3"'
        scripts = ""
        if s.http_title:
            scripts += (f'<script id="http-title" output="{_q(s.http_title)}"><elem key="title">{_q(s.http_title)}'
                        "</elem></script>")
        if s.subject_cn or s.subject_o:
            subject = "/".join(x for x in (f"commonName={s.subject_cn}" if s.subject_cn else "",
                                           f"organizationName={s.subject_o}" if s.subject_o else "") if x)
            scripts += f'<script id="ssl-cert" output="Subject: {_q(subject)}&#xa;Not valid before: 2024-01-01"/>'
        ports.append(f'<port protocol="{s.proto}" portid="{s.port}"><state state="open" reason="syn-ack" '
                     f'reason_ttl="64"/><service {attrs}/>{scripts}</port>')
    os_el = f'<os><osmatch name="{_q(d.os)}" accuracy="95" line="1"/></os>' if d.os else ""
    return (f'<host starttime="1764000000" endtime="1764000030"><status state="up" reason="syn-ack" reason_ttl="64"/>\n'
            f"{addr}\n<hostnames/>\n<ports>{''.join(ports)}</ports>{os_el}\n</host>\n")


def nmap_export(devices: list[Device], services: str = "443,7100") -> str:
    """A whole nmap -oX file of these devices only (a connect scan of `services`)."""
    hosts = "".join(nmap_host(d) for d in devices)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
            '<nmaprun scanner="nmap" args="nmap -n -sV" start="1764000000" version="7.94" xmloutputversion="1.05">\n'
            f'<scaninfo type="connect" protocol="tcp" numservices="2" services="{services}"/>\n{hosts}'
            '<runstats><finished time="1764000030" elapsed="30" exit="success"/>'
            f'<hosts up="{len(devices)}" down="0" total="{len(devices)}"/></runstats>\n</nmaprun>\n')


# -- Nessus ---------------------------------------------------------------------------------------
def _hexdump(text: str) -> str:
    raw = text.encode()
    lines = []
    for i in range(0, len(raw), 16):
        chunk = raw[i:i + 16]
        hexes = " ".join(f"{b:02X}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)  # Nessus prints "." for the rest
        lines.append(f"0x{i:02X}:  {hexes:<48}  {text}")
    return "\n".join(lines)


def _item(port: int, proto: str, svc: str, plugin: str, name: str, family: str, output: str) -> str:
    return (f'<ReportItem port="{port}" svc_name="{_q(svc)}" protocol="{proto}" severity="0" pluginID="{plugin}" '
            f'pluginName="{_q(name)}" pluginFamily="{_q(family)}"><plugin_output>{_q(output)}</plugin_output>'
            "</ReportItem>\n")


def nessus_host(d: Device) -> str:
    tags = [f'<tag name="host-ip">{d.address}</tag>', '<tag name="HOST_START_TIMESTAMP">1764000000</tag>',
            '<tag name="HOST_END_TIMESTAMP">1764000030</tag>']
    if d.mac:
        tags.append(f'<tag name="mac-address">{d.mac}</tag>')
    if d.os:
        tags.append(f'<tag name="operating-system">{_q(d.os)}</tag>')
    items = []
    for s in d.services:
        svc = {"https": "www", "http": "www"}.get(s.name or "", s.name or "unknown")
        scanner = ("34277", "Nessus UDP Scanner") if s.proto == "udp" else ("11219", "Nessus SYN scanner")
        items.append(_item(s.port, s.proto, svc, *scanner, "Port scanners", f"Port {s.port}/{s.proto} was found to be open"))
        if s.product:
            banner = " ".join(x for x in (s.product, s.version) if x) + " ready\r\n"
            items.append(_item(s.port, s.proto, svc, "11154", "Unknown Service Detection: Banner Retrieval",
                               "Service detection",
                               "If you know what this service is and think the banner could be used to\n"
                               "identify it, please send a description of the service along with the\n"
                               "following output to svc-signatures@nessus.org :\n\n"
                               f"  Port   : {s.port}\n  Type   : spontaneous\n  Banner : \n{_hexdump(banner)}\n"))
        if s.http_title:
            items.append(_item(s.port, s.proto, svc, "24260", "HyperText Transfer Protocol (HTTP) Information",
                               "Web Servers", "Response Code : HTTP/1.1 200 OK\n\nHeaders :\n\n  Server: lighttpd\n\n"
                               f"Response Body :\n\n<html><head><title>{s.http_title}</title></head></html>\n"))
        if s.subject_cn or s.subject_o:
            rows = "\n".join(x for x in (f"Common Name: {s.subject_cn}" if s.subject_cn else "",
                                         f"Organization: {s.subject_o}" if s.subject_o else "") if x)
            items.append(_item(s.port, s.proto, svc, "10863", "SSL Certificate Information", "General",
                               f"\nSubject Name: \n\n{rows}\n\nIssuer Name: \n\nCommon Name: Lane CA\n"))
    if d.os:
        items.append(_item(0, "tcp", "general", "11936", "OS Identification", "General",
                           f"\nRemote operating system : {d.os}\nConfidence level : 70\nMethod : SinFP\n"))
    return (f'<ReportHost name="{d.address}"><HostProperties>{"".join(tags)}</HostProperties>\n'
            f"{''.join(items)}</ReportHost>\n")


# -- GVM ------------------------------------------------------------------------------------------
def gvm_results(d: Device) -> str:
    out = []
    for s in d.services:
        if not s.product:
            continue
        out.append(
            f'<result id="planted-{d.address}-{s.port}"><name>{_q(s.product)} Detection</name>'
            f"<host>{d.address}<asset asset_id=\"\"/></host><port>{s.port}/{s.proto}</port>"
            '<nvt oid="1.3.6.1.4.1.25623.1.0.999999"><type>nvt</type><name>Product detection result</name>'
            "<family>Product detection</family><cvss_base>0.0</cvss_base></nvt>"
            "<threat>Log</threat><severity>0.0</severity><qod><value>80</value><type>remote_banner</type></qod>"
            f"<description>Product detection result</description>"
            f'<detection><result id="d-{d.address}-{s.port}"><details>'
            f"<detail><name>product</name><value>cpe:/a:{_q((s.product or '').lower().replace(' ', '_'))}</value></detail>"
            f"<detail><name>location</name><value>{s.port}/{s.proto}</value></detail>"
            "<detail><name>source_oid</name><value>1.3.6.1.4.1.25623.1.0.999998</value></detail>"
            f"<detail><name>source_name</name><value>{_q(s.product)} Detection</value></detail>"
            "</details></result></detection></result>\n")
    return "".join(out)


def gvm_ports(d: Device) -> str:
    return "".join(f"<port>{s.port}/{s.proto}<host>{d.address}</host><severity>0.0</severity><threat>Log</threat></port>"
                   for s in d.services)


def gvm_host(d: Device) -> str:
    details = []
    if d.mac:
        details.append(f"<detail><name>MAC</name><value>{d.mac}</value><source><type>nvt</type>"
                       "<name>1.3.6.1.4.1.25623.1.0.103585</name><description/></source></detail>")
    if d.os:
        details.append(f"<detail><name>best_os_txt</name><value>{_q(d.os)}</value><source><type>nvt</type>"
                       "<name>1.3.6.1.4.1.25623.1.0.105937</name><description>OS Detection Consolidation"
                       "</description></source></detail>")
    return (f"<host><ip>{d.address}</ip><asset asset_id=\"\"/><start>2023-09-26T10:50:34Z</start>"
            f"<end>2023-09-26T11:00:00Z</end>{''.join(details)}</host>\n")


def gvm_certificates(d: Device) -> str:
    out = []
    for s in d.services:
        if s.subject_cn or s.subject_o:
            dn = ",".join(x for x in (f"CN={s.subject_cn}" if s.subject_cn else "",
                                      f"O={s.subject_o}" if s.subject_o else "") if x)
            out.append(f"<tls_certificate><name>FPR{s.port}</name><certificate format=\"DER\"></certificate>"
                       f"<sha256_fingerprint>00</sha256_fingerprint><md5_fingerprint>00</md5_fingerprint>"
                       f"<valid>1</valid><activation_time>2024-01-01T00:00:00Z</activation_time>"
                       f"<expiration_time>2034-01-01T00:00:00Z</expiration_time><subject_dn>{_q(dn)}</subject_dn>"
                       f"<issuer_dn>CN=Lane CA</issuer_dn><serial>01</serial>"
                       f"<host><ip>{d.address}</ip><hostname></hostname></host><ports><port>{s.port}</port></ports>"
                       "</tls_certificate>")
    return "".join(out)


# -- InsightVM ------------------------------------------------------------------------------------
def insightvm_node(d: Device) -> str:
    mac = f' hardware-address="{d.mac.replace(":", "")}"' if d.mac else ""
    fps = (f'<fingerprints><os certainty="0.80" vendor="{_q(d.os)}" product="{_q(d.os)}"/></fingerprints>'
           if d.os else "")
    endpoints = []
    for s in d.services:
        svc_fp = ""
        if s.product:
            vendor, _, product = s.product.partition(" ")
            svc_fp = (f'<fingerprints><fingerprint certainty="0.90" vendor="{_q(vendor)}" '
                      f'product="{_q(product or vendor)}"{f" version={chr(34)}{_q(s.version)}{chr(34)}" if s.version else ""}/>'
                      "</fingerprints>")
        config = ""
        if s.subject_cn or s.subject_o or s.http_title:
            values = []
            if s.subject_cn or s.subject_o:
                dn = ",".join(x for x in (f"CN={s.subject_cn}" if s.subject_cn else "",
                                          f"O={s.subject_o}" if s.subject_o else "") if x)
                values.append(f'<config name="ssl.cert.subject.dn">{_q(dn)}</config>')
            if s.http_title:
                values.append(f'<config name="http.title">{_q(s.http_title)}</config>')
            config = f"<configuration>{''.join(values)}</configuration>"
        name = (s.name or "unknown").upper()
        endpoints.append(f'<endpoint protocol="{s.proto}" port="{s.port}" status="open"><services>'
                         f'<service name="{_q(name)}">{svc_fp}{config}</service></services></endpoint>')
    return (f'<node address="{d.address}" status="alive"{mac} device-id="9{abs(hash(d.address)) % 10000}" '
            f'site-name="Planted" site-importance="Normal" scan-template="Full audit" risk-score="0.0">'
            f"{fps}<endpoints>{''.join(endpoints)}</endpoints></node>\n")


# -- planting -------------------------------------------------------------------------------------
def plant(vendor: str, original: str, devices: list[Device]) -> str:
    """The text of a real export with these devices added where the vendor writes hosts."""
    if vendor == "nmap":
        at = original.index("<runstats>")
        return original[:at] + "".join(nmap_host(d) for d in devices) + original[at:]
    if vendor == "nessus":
        at = original.rindex("</Report>")
        return original[:at] + "".join(nessus_host(d) for d in devices) + original[at:]
    if vendor == "gvm":
        text = original
        at = text.index("</results>")
        text = text[:at] + "".join(gvm_results(d) for d in devices) + text[at:]
        at = text.index("</ports>")
        text = text[:at] + "".join(gvm_ports(d) for d in devices) + text[at:]
        at = text.index("<errors")
        certs = "".join(gvm_certificates(d) for d in devices)
        text = text[:at] + "".join(gvm_host(d) for d in devices) + f"<tls_certificates>{certs}</tls_certificates>" + text[at:]
        return text
    if vendor == "insightvm":
        at = original.index("</nodes>")
        return original[:at] + "".join(insightvm_node(d) for d in devices) + original[at:]
    raise ValueError(vendor)


def write_planted(fixtures_dir: Path, out_dir: Path, vendor: str, devices: list[Device], name: str = "planted") -> Path:
    """A copy of the vendor's real export with the devices planted, written under out_dir."""
    original = (fixtures_dir / "results" / FIXTURE[vendor]).read_text(encoding="utf-8")
    path = out_dir / f"{name}-{vendor}{SUFFIX[vendor]}"
    path.write_text(plant(vendor, original, devices), encoding="utf-8")
    return path
