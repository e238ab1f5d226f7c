"""The extractor's rules, one behaviour each, on sentences written the way ICS advisories write them
(not copied from the fixtures: these hold the patterns, the fixtures measure them)."""

from __future__ import annotations

import pytest

from scanguard import PortSet
from scanguard.kb.extract import VulnerabilityText, analyse, is_effect, ports_in, sentences, triggers_in


@pytest.mark.parametrize("text, ports", [
    ("Sending a specially crafted packet to TCP port 502 could cause the device to crash.", "502/tcp"),
    ("Malformed packets sent to UDP port 47808 cause a denial-of-service condition.", "47808/udp"),
    ("A flood of requests to port 80/TCP makes the web server unresponsive.", "80/tcp"),
    ("Block ports 20000/tcp and 20000/udp.", "20000/tcp, 20000/udp"),
    ("requests sent to port 44818 (TCP)", "44818/tcp"),
    ("restrict access to TCP/UDP port 2222", "2222/tcp, 2222/udp"),
    ("queries on UDP/161 crash the agent", "161/udp"),
    ("restrict access to Port 80/443/TCP", "80/tcp, 443/tcp"),
    ("TCP ports 80, 443, and 8080", "80/tcp, 443/tcp, 8080/tcp"),
    ("via TCP and UDP ports 9600", "9600/tcp, 9600/udp"),
    ("on port number 2404", "2404/tcp"),
    ("Specially crafted packets sent to port 161 crash the agent", "161/udp"),
])
def test_port_mentions_in_the_ways_advisories_write_them(text, ports):
    assert ports_in(text) == PortSet.parse(ports)


@pytest.mark.parametrize("text", [
    "Connect the switch to Ethernet port 2 only.",
    "Firmware V4.3.8 and later fix this.",
    "the dynamic ports 1024-65535/tcp are used for replies",
    "plug the cable into port 5",
])
def test_physical_ports_versions_and_dynamic_ranges_are_not_ports(text):
    assert ports_in(text) == PortSet()


@pytest.mark.parametrize("sentence", [
    "This could allow an attacker to cause a denial-of-service condition.",
    "The controller enters a major non-recoverable fault.",
    "The device will automatically reboot.",
    "The PLC may change its state into halt mode.",
    "causing the software application to stop responding and crash",
    "An attacker may compromise the device's availability by sending requests.",
    "This could render the web server unavailable.",
])
def test_availability_effects_are_recognised(sentence):
    assert is_effect(sentence)


@pytest.mark.parametrize("sentence", [
    "Temporary configuration changes are removed upon reboot.",
    "The FTP service remains operational until the module is rebooted.",
    "Access to the console allows the module to be rebooted.",
    "Successful exploitation compromises confidentiality, integrity and availability of the system.",
])
def test_recovery_permission_and_the_cia_triad_are_not_effects(sentence):
    assert not is_effect(sentence)


@pytest.mark.parametrize("sentence, triggers", [
    ("Specially crafted packets crash it.", ["malformed"]),
    ("A flood of TCP SYN packets exhausts the stack.", ["flood"]),
    ("Running a vulnerability scanner against the NVR stops recording.", ["scan"]),
    ("A request to a specific URL makes it unresponsive.", ["request"]),
    ("A large quantity of HTTP GET requests starts a restart loop.", ["flood"]),
    ("An attacker spams incomplete HTTP headers.", ["malformed", "flood"]),
])
def test_triggers_are_named(sentence, triggers):
    assert sorted(triggers_in(sentence)) == sorted(triggers)


def test_cisa_boilerplate_and_glued_cve_sentences_are_dropped():
    text = ("Crafted packets to port 102/tcp halt the CPU.CVE-2099-0001 has been assigned to this vulnerability. "
            "A CVSS v3 base score of 7.5 has been calculated; the CVSS vector string is (AV:N/AC:L).")
    assert sentences(text) == ["Crafted packets to port 102/tcp halt the CPU."]


def test_a_line_break_inside_a_sentence_does_not_split_it():
    assert sentences("avoid running vulnerability scanning tools from trusted IP addresses on\naffected devices.") == [
        "avoid running vulnerability scanning tools from trusted IP addresses on affected devices."]


def vuln(note: str, *remediations: str, cve: str = "CVE-2099-0001") -> VulnerabilityText:
    return VulnerabilityText(cves=(cve,), notes=(note,), remediations=remediations)


def test_a_crash_with_a_stated_port_gives_that_port_from_the_text():
    f = analyse(vuln("Specially crafted packets sent to port 102/tcp could cause a denial-of-service condition."))
    assert f is not None and f.port_set() == PortSet.parse("102/tcp")
    assert [m.source for m in f.ports] == ["text"] and f.trigger_set() == {"malformed"}


def test_a_vulnerability_without_an_availability_effect_is_no_finding():
    assert analyse(vuln("The web server on port 443/tcp allows reflected cross-site scripting.")) is None


def test_physical_access_alone_is_no_network_crash():
    assert analyse(vuln("An attacker with physical access can crash the pump by plugging in a USB drive.")) is None


def test_a_remediation_for_the_same_service_gives_the_port():
    f = analyse(vuln("A crafted request over Modbus crashes the controller.",
                     "Block all unauthorized access to port 502/TCP."), single=False)
    assert f is not None and f.port_set() == PortSet.parse("502/tcp") and f.ports[0].source == "remediation"


def test_a_remediation_for_another_service_is_ignored():
    f = analyse(vuln("Malformed IPsec packets reload the device.",
                     "Block traffic to EtherNet/IP devices by restricting TCP and UDP Port 2222 and Port 44818."),
                single=True)
    assert f is not None and not f.port_set()


def test_a_remediation_citing_another_cve_is_ignored():
    f = analyse(vuln("Crafted requests crash the network manager service.",
                     "CVE-2099-9999: restrict connections to TCP Port 5457."), single=True)
    assert f is not None and not f.port_set()


def test_a_named_protocol_without_a_port_stands_for_its_well_known_port():
    f = analyse(vuln("A remote attacker may send a specially crafted Modbus packet that halts the controller."))
    assert f is not None and f.port_set() == PortSet.parse("502/tcp")
    assert f.ports[0].source == "protocol" and f.ports[0].protocol == "modbus"
    assert f.port_set(frozenset({"text", "remediation"})) == PortSet()


def test_a_port_the_text_does_not_number_stops_protocol_inference():
    f = analyse(vuln("A buffer over-read in the HTTP(S) service crashes the server. An attacker with access to the "
                     "CmWAN port could exploit this."))
    assert f is not None and not f.port_set()


def test_a_flood_of_no_named_service_does_not_take_the_remediation_ports():
    f = analyse(vuln("When the device receives a high rate of frames, the HMI may freeze.",
                     "Block all unauthorized access to Ports 44818/TCP, 502/TCP and 8080/TCP."), single=True)
    assert f is not None and not f.port_set() and f.trigger_set() == {"flood"}


@pytest.mark.parametrize("note, kind", [
    ("A large quantity of ICMP requests crashes the controller.", "icmp"),
    ("Excessive ARP broadcast requests reboot the device (ARP storm).", "arp"),
    ("A specially formatted UDP request crashes the monitor.", "udp"),
])
def test_discovery_protocols_that_take_the_device_down(note, kind):
    f = analyse(vuln(note))
    assert f is not None and kind in {d.kind for d in f.discovery}


def test_a_stated_udp_port_is_not_also_a_udp_discovery_finding():
    f = analyse(vuln("Specially crafted packets sent to port 161/udp could cause a denial-of-service condition."))
    assert f is not None and not f.discovery
