"""The fingerprint matcher: a score and the evidence behind it; matched, contradicted or unknown
for every rule; match, mismatch or undetermined for the host."""

from __future__ import annotations

from scanguard import DeviceProfile, Evidence, HostResult, PortSet
from scanguard.matcher import Matcher

TERMINAL = DeviceProfile(
    id="pos-terminal", name="Payment terminals", location={"cidrs": ["10.20.50.0/26"]},
    fingerprint={"mac_ouis": ["00:03:81"], "open_ports": "7100/tcp, 443/tcp", "banners": ["Ingenico TMS"]},
)


def judge(host: HostResult, profile: DeviceProfile = TERMINAL):
    (match,) = Matcher([profile]).judge(host)
    return match


def host(**kw) -> HostResult:
    return HostResult(address=kw.pop("address", "10.99.1.5"), **kw)


def product(value: str, port: int = 7100) -> Evidence:
    return Evidence(kind="product", value=value, port=port, protocol="tcp", source="nmap service detection")


def test_the_routed_terminal_without_a_mac_matches_with_its_evidence():
    m = judge(host(open_ports=PortSet.parse("443/tcp, 7100/tcp"), evidence=(product("Ingenico TMS"),)))

    assert (m.verdict, m.score, m.threshold) == ("match", 4, 4)
    assert 'product "Ingenico TMS" on 7100/tcp [nmap service detection] (banner contains \'Ingenico TMS\': +2)' \
        in m.evidence


def test_a_web_server_on_443_and_an_unrelated_7100_service_does_not_match():
    m = judge(host(open_ports=PortSet.parse("443/tcp, 7100/tcp"), evidence=(product("X11 font server"),)))

    assert m.verdict != "match" and m.score == 2


def test_open_ports_alone_never_identify_a_device():
    ports_only = DeviceProfile(id="rack", name="Racks", fingerprint={"open_ports": "80/tcp, 443/tcp"})

    m = judge(host(open_ports=PortSet.parse("80/tcp, 443/tcp")), ports_only)

    assert m.score == m.threshold == 2 and m.verdict == "undetermined"


def test_ports_the_scan_probed_and_found_closed_contradict_the_fingerprint():
    m = judge(host(open_ports=PortSet.parse("22/tcp"), probed_ports=PortSet.parse("1-1024/tcp, 7100/tcp")))

    assert m.contradictions == ("443/tcp probed, not open (port 443/tcp open)",
                                "7100/tcp probed, not open (port 7100/tcp open)")
    assert (m.potential, m.verdict) == (4, "undetermined")  # the banner and the OUI could still hold


def test_a_host_that_cannot_reach_the_threshold_whatever_is_unknown_mismatches():
    m = judge(host(open_ports=PortSet.parse("22/tcp"), probed_ports=PortSet.parse("1-1024/tcp, 7100/tcp"),
                   mac="00:1B:21:AA:BB:CC"))

    assert (m.potential, m.verdict) == (2, "mismatch")


def test_a_port_the_scan_never_probed_is_unknown_not_missing():
    # a scan that keeps off 7100 (the terminal's fragile port) cannot hold its absence against it
    m = judge(host(open_ports=PortSet.parse("443/tcp"), probed_ports=PortSet.parse("1-7099/tcp")))

    assert m.verdict == "undetermined" and m.potential == 6


def test_a_mac_of_another_maker_contradicts_the_oui_rule():
    m = judge(host(mac="00:1B:21:AA:BB:CC"))

    (oui,) = [o for o in m.outcomes if o.kind == "mac_oui"]
    assert oui.state == "contradicted" and oui.evidence == "MAC 00:1B:21:AA:BB:CC (OUI 00:1B:21)"


def test_a_required_rule_must_match():
    strict = DeviceProfile(id="pos", name="P", fingerprint={
        "open_ports": "443/tcp", "evidence": [{"tls_subject": "O=Ingenico", "required": True}, {"mac_oui": "00:03:81"}],
        "min_score": 3})

    m = judge(host(open_ports=PortSet.parse("443/tcp"), mac="00:03:81:01:02:03"), strict)

    assert m.score == 3 and m.verdict == "undetermined"


def test_a_required_rule_on_a_closed_port_makes_a_mismatch():
    strict = DeviceProfile(id="pos", name="P", fingerprint={
        "evidence": [{"banner": "Ingenico", "port": "7100/tcp", "required": True}, {"port": "443/tcp"}]})

    m = judge(host(open_ports=PortSet.parse("443/tcp"), probed_ports=PortSet.parse("443/tcp, 7100/tcp")), strict)

    assert m.verdict == "mismatch"


def test_anchors_hold():
    anchored = DeviceProfile(id="pos", name="P", fingerprint={"evidence": [{"product": "^Ingenico TMS$"}]})

    assert judge(host(evidence=(product("Ingenico TMS"),)), anchored).verdict == "match"
    assert judge(host(evidence=(product("Not Ingenico TMS"),)), anchored).verdict != "match"
    assert judge(host(evidence=(product("ingenico tms"),)), anchored).verdict == "match"  # case-insensitive


def test_a_pattern_bound_to_a_port_ignores_the_same_text_elsewhere():
    bound = DeviceProfile(id="pos", name="P", fingerprint={"evidence": [{"product": "Ingenico", "port": "7100/tcp"}]})

    assert judge(host(evidence=(product("Ingenico", port=8080),)), bound).verdict != "match"
    assert judge(host(evidence=(product("Ingenico", port=7100),)), bound).verdict == "match"


def test_the_os_and_cpes_every_parser_fills_are_evidence_too():
    monitor = DeviceProfile(id="mon", name="M", fingerprint={"os": "VxWorks", "cpes": ["cpe:/o:windriver:vxworks"]})

    m = judge(host(os="Wind River VxWorks 6.x", cpes=("cpe:/o:windriver:vxworks:6",)), monitor)

    assert m.verdict == "match" and m.score == 4


def test_a_profile_without_a_fingerprint_is_not_judged():
    blank = DeviceProfile(id="blank", name="B")

    assert Matcher([blank, TERMINAL]).judge(host()) and Matcher([blank]).judge(host()) == []
