"""What an advisory says takes a device down: crash effects, ports, protocols and triggers, read
from a vulnerability's notes and remediations, sentence by sentence.

The rules, in the order they apply to one vulnerability:

1. It is a *crash* when a sentence of its notes states an effect on availability (denial of
   service, crash, reboot, reload, halt, stop responding, hang, ...), and the attack goes over the
   network (not only with physical or local access). Everything below applies only to crashes.
2. Ports the vulnerability's own text names ("port 102/tcp", "TCP port 44818", "UDP/161",
   "Ports 502 and 10002") are taken as they are.
3. When the text names none, a remediation of the same vulnerability may: its port counts when
   it names the same service as the text ("over Modbus" / "block port 502/TCP"), or, the text
   naming no service, when the advisory has a single vulnerability or the remediation cites this
   vulnerability's CVE. A remediation about another service or another CVE is ignored (CISA
   copies every remediation to every vulnerability).
4. A protocol named without a port ("over Modbus", "crafted HTTP requests") stands for its
   well-known port (scanguard.kb.protocols), unless rule 2 or 3 found a port of that service.
5. Triggers: malformed or crafted input, floods, scans, specific requests; and discovery
   protocols that take the device down (ICMP, ARP, UDP with no port named).

The extractor leans towards recall on triggers (a check exclusion or a rate limit costs a scan
little) and towards precision on ports (an excluded port is a blind spot): a port is only taken
when a sentence ties it to the crashing vulnerability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model.ports import PortSet
from .model import DiscoveryMention, Finding, PortMention, TriggerMention
from .protocols import KnownProtocol, families_of, protocols_in, transport_of


@dataclass(frozen=True)
class VulnerabilityText:
    """One vulnerability as the extractor reads it: ids, notes and remediation texts."""

    cves: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()
    product_ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    remediations: tuple[str, ...] = field(default_factory=tuple)


# -- sentences ------------------------------------------------------------------------------------
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|no|nos|approx|incl|fig|inc|ltd|co|corp|resp|ca|cf|al|sec|ver|rev|v)\.",
                     re.IGNORECASE)
# a line break ends a sentence only after a full stop or a blank line: CISA wraps long lines mid-sentence
_SPLIT = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[A-Z0-9])|\n\s*\n")
_BOILERPLATE = re.compile(
    r"has been assigned to th(?:is|ese) vulnerabilit|cvss v\d(?:\.\d)? base score|cvss vector string|"
    r"^\(?AV:[NALP]/", re.IGNORECASE)
_DOT = "\u2024"  # one-dot leader stands for a protected period while splitting


def sentences(text: str) -> list[str]:
    """Split advisory prose into sentences, dropping CVE and CVSS boilerplate."""
    text = re.sub(r"\.(?=CVE-\d)", ". ", text or "")  # CISA glues "condition.CVE-2021-1 has been..."
    masked = _ABBREV.sub(lambda m: m.group(0)[:-1] + _DOT, text)
    masked = re.sub(r"(?<=\d)\.(?=\d)", _DOT, masked)  # version numbers
    out = []
    for part in _SPLIT.split(masked):
        s = " ".join(part.replace(_DOT, ".").split())
        if s and not _BOILERPLATE.search(s):
            out.append(s)
    return out


# -- effects, network, triggers -------------------------------------------------------------------
_EFFECT = re.compile(
    r"denial[- ]of[- ]service|(?-i:\bD[oO]S\b)|\bcrash(?:es|ed|ing)?\b|\breboot(?:s|ed|ing)?\b|\breload(?:s|ed|ing)?\b|"
    r"\brestart(?:s|ed|ing)?\b|\bpower[- ]cycl\w*|\bhalt(?:s|ed|ing)?\b|\bstop mode\b|\bdefect mode\b|"
    r"\bfault(?:ed)? (?:state|mode|condition)\b|\b(?:major|hard) (?:non-recoverable )?fault\b|"
    r"\b(?:stop|stops|stopped|cease|ceases|ceased)\s+(?:responding|working|functioning|operating|communicating|running)\b|"
    r"\b(?:functions?|services?|communications?|operations?)\s+to\s+stop\b|"
    r"\b(?:un|non-?)responsive\b|\bnot (?:to )?respond\b|\bhang(?:s|ing)?\b|\bfreez(?:e|es|ing)\b|\bfroze(?:n)?\b|"
    r"\b(?:becom|render|make|leav|caus)\w*\s+(?:the\s+)?(?:[\w-]+\s+){0,3}(?:temporarily\s+)?"
    r"(?:unavailable|inoperable|unusable|inaccessible)\b|\bloss of (?:availability|communication|view|control)\b|"
    r"\b(?:enter|go(?:es)? into|transition to|change its state into)\s+(?:a\s+|the\s+)?(?:stop|halt|fault|error)\s+"
    r"(?:state|mode)\b|"
    r"\b(?:application|process|service|program|software|task)s?\s+(?:to\s+)?terminat\w*|"
    r"\bterminat\w*\s+(?:the\s+)?(?:application|process|service|program|software)\b|"
    r"\b(?:interrupt|disrupt)\w*\s+(?:the\s+)?(?:normal\s+)?(?:operation|function|service|communication|monitoring)s?\b|"
    r"\bresource exhaustion\b|\bout of memory\b|\binfinite loop\b|\bsegmentation fault\b|"
    r"\breset(?:s|ting)?\s+(?:of\s+)?(?:the\s+)?(?:device|module|controller|system|cpu|plc)\b",
    re.IGNORECASE)
# recovery ("until it is rebooted") and permission ("allows the module to be rebooted") are no crash
_NOT_EFFECT = re.compile(r"\b(?:until|allows?|permits?|lets?) (?:the )?[\w\s/-]{0,40}?(?:is |are |to be )?"
                         r"(?:rebooted|restarted|reset|power[- ]cycled)\b|"
                         r"\b(?:upon|after|on|at|across|following) (?:a |the |every |each )?(?:re)?(?:boot|start)s?\b",
                         re.IGNORECASE)
_PHYSICAL = re.compile(r"\bphysical(?:ly)?\b|\blocal(?:ly)? (?:access|attacker|user)|\busb\b|\bserial\b|\bremovable\b|"
                       r"\bkeypad\b|\bdebug port\b", re.IGNORECASE)
_NETWORK = re.compile(
    r"\bremote(?:ly)?\b|\bnetwork\b|\bpackets?\b|\brequests?\b|\bports?\b|\btcp\b|\budp\b|\bicmp\b|\barp\b|\bhttps?\b|"
    r"\bprotocol\b|\bmessages?\b|\btraffic\b|\bconnections?\b|\badjacent\b|\bbroadcast\b|\bflood|\bscan|\bstorm|"
    r"\bservice\b|\bserver\b|\bweb\b|\bsubnet\b|\blan\b|\bframes?\b|\bdatagrams?\b", re.IGNORECASE)
_NETWORK_STRONG = re.compile(
    r"\bremote(?:ly)?\b|\bpackets?\b|\brequests?\b|\bports?\s+\d|\d\s*/\s*(?:tcp|udp)|\bflood|\bscan|\bicmp\b|"
    r"\barp\b|\bbroadcast\b|\bnetwork access\b", re.IGNORECASE)

_MALFORMED = re.compile(
    r"\bspecial(?:ly)?[- ]crafted\b|\bcrafted\b|\bmalformed\b|\bspecial(?:ly)? formatted\b|\bmalicious(?:ly)?\s+"
    r"(?:crafted\s+|formed\s+)?(?:packets?|requests?|messages?|frames?|traffic|payloads?|input|data|responses?)\b|"
    r"\binvalid\s+(?:\w+\s+)?(?:packets?|requests?|messages?|frames?|options?|length|headers?|fields?|input|data|"
    r"segments?|values?|parameters?)\b|\bimproper(?:ly)?\s+(?:formatted|validat\w+|input validation|check\w*)\b|"
    r"\b(?:does|do|did) not (?:properly |correctly |sufficiently )?(?:validate|check|sanitize)\b|"
    r"\bincorrect(?:ly)? validat\w+\b|\bunverified length\b|\bfuzz\w*\b|"
    r"\bbuffer over-?(?:flow|read)\b|\bout-of-bounds\b|\bnull pointer\b|\bformat string\b|\binteger (?:overflow|underflow)\b|"
    r"\b(?:incomplete|partial|truncated|oversized|overlong)\s+(?:\w+\s+)?(?:requests?|headers?|packets?|messages?|frames?|"
    r"segments?)\b",
    re.IGNORECASE)
_FLOOD = re.compile(
    r"\bflood\w*\b|\bstorm\w*\b|\blarge (?:number|quantity|amount|volume)s? of\b|\bexcessive\b|"
    r"\bhigh (?:rate|volume|number|load|frequency|amount) of\b|"
    r"\b(?:many|numerous|massive|thousands of|a burst of|bursts of|continuous)\s+(?:\w+\s+)?"
    r"(?:requests|packets|connections|messages|frames|sessions)\b|"
    r"\boverflow of (?:\w+ )?(?:packets|traffic|requests|connections)\b|\bhigh (?:network )?(?:traffic|load)\b|"
    r"\bexhaust\w*\s+(?:the\s+|all\s+)?(?:available\s+)?(?:connections|sessions|sockets|bandwidth)\b|"
    r"\bspam(?:s|med|ming)?\b|\bslowloris\b",
    re.IGNORECASE)
_SCAN = re.compile(
    r"\b(?:vulnerability|vulnerabilities|port|network|security|nmap|nessus|openvas|qualys|automated|active)[- ]"
    r"scan\w*\b|\bscanning tools?\b|\bscan(?:ner)?s?\s+(?:against|of)\s+(?:the\s+|an?\s+)?(?:affected\s+)?"
    r"(?:device|network|controller|system|product)s?\b|\bnmap\b|\bscann(?:ed|ing) (?:the|a) network\b",
    re.IGNORECASE)
_REQUEST = re.compile(
    r"\b(?:specific|certain|particular|special|single|simple)\s+(?:\w+\s+)?(?:requests?|commands?|messages?|urls?|"
    r"quer(?:y|ies))\b|\bspecific\s+(?:\w+\s+)?packets?\b|"
    r"\b(?:series|sequence) of (?:\w+\s+)?(?:commands|requests|queries|messages)\b|"
    r"\brequests? (?:may|can|could|might) be used\b|\brequest to a specific\b|"
    r"\b(?:get|post|put)\s+requests?\b|\bsend(?:s|ing)?\s+(?:a|an|the)\s+(?:\w+\s+)?(?:request|command|query)\b|"
    r"\bcommands? (?:may|can|could) be sent\b",
    re.IGNORECASE)
_ICMP = re.compile(r"\bicmp\b|\bping(?:s)? of death\b|\bping flood\w*\b", re.IGNORECASE)
_ARP = re.compile(r"(?<!reverse-)(?<!reverse )\barp\b|\baddress resolution protocol\b", re.IGNORECASE)
_UDP = re.compile(r"\budp\b", re.IGNORECASE)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)
_UNNUMBERED_PORT = re.compile(r"\b(?:the|a|its|specific|dedicated|proprietary)\s+(?:[\w-]+\s+){0,2}port\b(?!\s*\d)",
                              re.IGNORECASE)


_AVAILABILITY = re.compile(r"\b(?:compromis|impact|affect|reduc|degrad)\w*\s+(?:the\s+)?(?:\w+(?:'s|\s's)\s+)?"
                           r"availability\b", re.IGNORECASE)
_TRIAD = re.compile(r"confidentiality|integrity", re.IGNORECASE)


def is_effect(sentence: str) -> bool:
    """True when the sentence states an effect on availability (a crash, a denial of service)."""
    s = _NOT_EFFECT.sub(" ", sentence)
    if _EFFECT.search(s):
        return True
    # "compromise the device's availability", but not "confidentiality, integrity and availability"
    return any(not _TRIAD.search(s[max(0, m.start() - 40):m.end()]) for m in _AVAILABILITY.finditer(s))


def triggers_in(sentence: str) -> list[str]:
    """The triggers a sentence names: malformed, flood, scan, request."""
    out = []
    for name, rx in (("malformed", _MALFORMED), ("flood", _FLOOD), ("scan", _SCAN), ("request", _REQUEST)):
        if rx.search(sentence) and not (name == "request" and "flood" in out):
            out.append(name)  # a flood of requests is a flood, not a specific request
    return out


# -- ports ------------------------------------------------------------------------------------------
_N = r"\d{1,5}"
_RANGE = rf"{_N}(?:\s*(?:-|\u2013|to|through)\s*{_N})?"
_PROTO = r"(?:tcp|udp)"
_ITEM = rf"{_RANGE}(?:\s*/\s*{_PROTO}(?:\s*(?:and|&|/|or)\s*{_PROTO})?(?:/ip)?)?"
_LISTED = re.compile(
    rf"\b(?:(?P<pre>{_PROTO})(?:\s*(?:and|or|&|/)\s*(?P<pre2>{_PROTO}))?\s+)?ports?(?:\s+(?:numbers?|no\.?))?\s*:?\s*"
    rf"(?P<list>{_ITEM}(?:\s*(?:,\s*and|,\s*or|,|and|or|&)\s*(?:{_PROTO}\s+)?(?:ports?\s+)?{_ITEM})*)"
    rf"(?:\s*\(?\s*(?P<post>{_PROTO})(?:\s*(?:and|or|/|&)\s*(?P<post2>{_PROTO}))?\b\)?)?",
    re.IGNORECASE)
_SLASHED = re.compile(rf"\b(?P<n>{_N})\s*/\s*(?P<p>{_PROTO})(?:\s*(?:and|&|or)\s*(?P<p2>{_PROTO})\b)?", re.IGNORECASE)
_PROTO_FIRST = re.compile(rf"\b(?P<p>{_PROTO})\s*/\s*(?P<n>{_N})\b", re.IGNORECASE)
_PAREN = re.compile(rf"\b(?P<n>{_N})\s*\(\s*(?P<p>{_PROTO})\s*\)", re.IGNORECASE)
_PHYS_PORT = re.compile(r"(?:ethernet|serial|usb|switch|physical|rj-?45|fib(?:er|re)|sfp|console|com|lan|wan|uplink|"
                        r"x\d*|interface|mirror|span)\s*$", re.IGNORECASE)
_ITEM_RX = re.compile(rf"(?P<lo>{_N})(?:\s*(?:-|\u2013|to|through)\s*(?P<hi>{_N}))?(?:\s*/\s*(?P<p>{_PROTO})"
                      rf"(?:\s*(?:and|&|/|or)\s*(?P<p2>{_PROTO}))?)?", re.IGNORECASE)


def _default_proto(sentence: str, port: int) -> list[str]:
    low = sentence.lower()
    has_tcp, has_udp = bool(re.search(r"\btcp\b", low)), bool(re.search(r"\budp\b", low))
    if has_udp and not has_tcp:
        return ["udp"]
    if has_tcp and not has_udp:
        return ["tcp"]
    known = transport_of(port)
    return [known] if known else ["tcp"]


MAX_RANGE = 256
"""A port range wider than this ("ports 1024-65535") describes dynamic ports, not a crashing service."""


def _add(by: dict[str, list[tuple[int, int]]], lo: int, hi: int, protos: list[str]) -> None:
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535) or lo > hi or hi - lo >= MAX_RANGE:
        return
    for p in protos:
        by[p].append((lo, hi))


def ports_in(sentence: str) -> PortSet:
    """The TCP and UDP ports a sentence names ("port 102/tcp", "TCP port 44818", "UDP/161",
    "Ports 502 and 10002", "80/tcp or 443/tcp", "port 20000 (TCP)"). Physical port numbers
    ("Ethernet port 2") and bare numbers below 7 without a protocol are not ports."""
    from ..model.intervals import IntervalSet

    by: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    taken: list[tuple[int, int]] = []
    for m in _LISTED.finditer(sentence):
        if _PHYS_PORT.search(sentence[:m.start()]) and not re.search(_PROTO, m.group(0), re.IGNORECASE):
            continue
        outer = [p.lower() for p in (m.group("post"), m.group("post2")) if p] or \
                [p.lower() for p in (m.group("pre"), m.group("pre2")) if p]
        items = list(_ITEM_RX.finditer(m.group("list")))
        for it in items:
            lo = int(it.group("lo"))
            hi = int(it.group("hi") or lo)
            own = [p.lower() for p in (it.group("p"), it.group("p2")) if p]
            protos = own or outer
            if not protos:
                if lo < 7:
                    continue
                protos = _default_proto(sentence, lo)
            _add(by, lo, hi, protos)
        taken.append(m.span())
    for rx in (_SLASHED, _PROTO_FIRST, _PAREN):
        for m in rx.finditer(sentence):
            if any(a <= m.start() < b for a, b in taken):
                continue
            n = int(m.group("n"))
            protos = [p.lower() for p in (m.group("p"), m.groupdict().get("p2")) if p]
            _add(by, n, n, protos)
            taken.append(m.span())
    return PortSet(IntervalSet(by["tcp"]), IntervalSet(by["udp"]))


# -- one vulnerability -------------------------------------------------------------------------------
def _network(text: str) -> bool:
    if not _NETWORK.search(text) and not protocols_in(text):
        return False
    return not (_PHYSICAL.search(text) and not _NETWORK_STRONG.search(text))


def _app_families(protos: list[KnownProtocol]) -> set[str]:
    return {p.family for p in protos}


def _remediation_ports(v: VulnerabilityText, families: set[str], single: bool, volume_only: bool) -> list[PortMention]:
    """Ports a remediation of this vulnerability names for the same service (see the module doc)."""
    if volume_only and not families:
        return []  # a flood or a scan of no named service is about rate: the remediation's ports are access control
    out: list[PortMention] = []
    own = {c.upper() for c in v.cves}
    for rem in v.remediations:
        for s in sentences(rem):
            ports = ports_in(s)
            if not ports:
                continue
            cited = {c.upper() for c in _CVE.findall(s)}
            if cited and not cited & own:
                continue  # a remediation for another vulnerability
            words = _app_families(protocols_in(s))  # services the sentence names in words
            if families:
                ok = bool(families & (words | families_of(ports))) or (single and not words)
            else:  # the text names no service: a remediation that names none either is about this one
                ok = not words
            if ok:
                out.append(PortMention(ports=ports, source="remediation", sentence=s))
    return out


def analyse(v: VulnerabilityText, *, single: bool = False) -> Finding | None:
    """The finding of one vulnerability, or None when it does not say network traffic takes the
    device down. `single`: the advisory has only this vulnerability (its remediations are its own)."""
    sents = [s for note in v.notes for s in sentences(note)]
    effects = [s for s in sents if is_effect(s)]
    if not effects:
        return None
    text = " ".join(sents)
    if not _network(text):
        return None

    ports = [PortMention(ports=p, source="text", sentence=s) for s in sents if (p := ports_in(s))]
    named = protocols_in(text)
    families = _app_families(named)
    found = {t for s in sents for t in triggers_in(s)}
    if not ports:
        ports = _remediation_ports(v, families, single, volume_only=bool(found) and found <= {"flood", "scan"})
    # a protocol named as the vehicle (in a sentence about the crash or its trigger) with no port: its
    # well-known port; not when the text speaks of a port it does not number ("the CmWAN port")
    unnumbered = any(not protocols_in(m.group(0)) for m in _UNNUMBERED_PORT.finditer(text))
    if not ports and not unnumbered:
        covered: set[str] = set()
        vehicle = [x for x in sents if is_effect(x) or triggers_in(x)]
        for proto in named:
            s = next((x for x in vehicle if proto.pattern.search(x)), None)
            if s is not None and proto.family not in covered:
                ports.append(PortMention(ports=proto.ports, source="protocol", protocol=proto.name, sentence=s))
                covered.add(proto.family)

    triggers: list[TriggerMention] = []
    seen: set[str] = set()
    rem_sents = [s for r in v.remediations for s in sentences(r)]
    for s in sents + [s for s in rem_sents if _SCAN.search(s)]:
        for t in triggers_in(s):
            if t in seen or (t != "scan" and s not in sents):
                continue  # from remediations only the scan trigger counts ("avoid running scanners")
            seen.add(t)
            triggers.append(TriggerMention(trigger=t, sentence=s))  # type: ignore[arg-type]

    discovery: list[DiscoveryMention] = []
    for kind, rx in (("icmp", _ICMP), ("arp", _ARP)):
        s = next((x for x in sents if rx.search(x)), None)
        if s is not None:
            discovery.append(DiscoveryMention(kind=kind, sentence=s))  # type: ignore[arg-type]
    all_ports = PortSet()
    for m in ports:
        all_ports = all_ports | m.ports
    if not all_ports.udp:
        s = next((x for x in sents if _UDP.search(x)), None)
        if s is not None:
            discovery.append(DiscoveryMention(kind="udp", sentence=s))

    def rank(s: str) -> tuple[int, int]:
        return (0 if ports_in(s) else 1, 0 if triggers_in(s) else 1)

    effect = min(effects, key=rank)
    return Finding(cves=v.cves, cwes=v.cwes, product_ids=v.product_ids, effect=effect, ports=tuple(ports),
                   protocols=tuple(p.name for p in named), triggers=tuple(triggers), discovery=tuple(discovery))


def analyse_all(vulns: list[VulnerabilityText]) -> tuple[Finding, ...]:
    """The findings of an advisory's vulnerabilities."""
    single = len(vulns) == 1
    return tuple(f for v in vulns if (f := analyse(v, single=single)) is not None)
