"""GVM's fixed vocabulary: predefined object ids, NVT families, scanner and NVT preferences.

One table (CATEGORY_MAP) maps scanguard's vendor-neutral check categories to GVM NVT families and
safe checks.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMAT = "scanguard-gvm/1"
"""The version of the native document this plugin renders."""

FULL_AND_FAST = "daba56c8-73ec-11df-a475-002264764cea"
"""The predefined "Full and fast" scan config: the default base every template is copied from."""
OPENVAS_DEFAULT_SCANNER = "08b69003-5fc2-4037-a479-93b440211c73"
"""The predefined "OpenVAS Default" scanner that tasks run on."""

PING_HOST = "1.3.6.1.4.1.25623.1.0.100315"
"""Ping Host: GVM's host discovery NVT (family "Port scanners")."""
NMAP_WRAPPER = "1.3.6.1.4.1.25623.1.0.14259"
"""Nmap (NASL wrapper): the port scanner of the predefined configs (family "Port scanners")."""

CHECK_KINDS = frozenset({"oid", "family"})
"""The kinds of GVM-specific check ids a profile can exclude: NVT OIDs and NVT families."""

OPENVAS_TCP_SCANNER = "1.3.6.1.4.1.25623.1.0.10335"
"""The OpenVAS TCP scanner: also in "Port scanners", a full-connect scanner of its own that
ignores the Nmap wrapper's wait between probes and parallelism."""
PORT_SCANNERS = "Port scanners"
"""The family of Ping Host, the Nmap wrapper, the OpenVAS TCP scanner and other port scanners.
scanguard never selects it whole: only the NVTs it means (see PORT_SCANNER_NVTS)."""
PORT_SCANNER_NVTS = (PING_HOST, NMAP_WRAPPER)
"""What scanguard selects of "Port scanners": host discovery and the port scan whose delay and
parallelism the template sets. Anything else there (the OpenVAS TCP scanner, wrappers around
other tools) would probe at its own pace, so it stays off."""


@dataclass(frozen=True)
class CategoryMapping:
    """How GVM leaves out one vendor-neutral category: NVT families switched off, and whether
    safe_checks must be on (openvas then skips every NVT of the destructive script categories
    ACT_DESTRUCTIVE_ATTACK, ACT_DENIAL, ACT_KILL_HOST and ACT_FLOOD, in every family: denial of
    service NVTs are filed under many families, not only "Denial of Service")."""

    families: tuple[str, ...] = ()
    safe_checks: bool = False


CATEGORY_MAP: dict[str, CategoryMapping] = {
    "dos": CategoryMapping(("Denial of Service",), safe_checks=True),
    "brute-force": CategoryMapping(("Brute force attacks",)),
    "default-credentials": CategoryMapping(("Default Accounts",)),
    "exploit": CategoryMapping(("Gain a shell remotely",), safe_checks=True),
    "web-crawl": CategoryMapping(("Web application abuses",)),
    "fuzzing": CategoryMapping(("Buffer overflow",), safe_checks=True),
    "intrusive": CategoryMapping((), safe_checks=True),
    "unsafe": CategoryMapping((), safe_checks=True),
}
"""Neutral category -> what leaves it out on GVM, the way Nessus (safe_checks) and InsightVM
(unsafe checks off) leave out the same categories. The one table: render writes every part of a
mapping, parse reads a category as excluded only when its whole mapping holds."""

# Scanner preferences scanguard manages (values as gvmd holds them: strings). alive_test_ports
# is the port list of the scanner's own alive test (Boreas), whose default probes 443 and others.
SCANNER_PREFERENCES = ("safe_checks", "time_between_request", "checks_read_timeout",
                       "unscanned_closed", "unscanned_closed_udp", "alive_test_ports")
BOREAS_DEFAULT_PORTS = "21-23,25,53,80,110-111,135,139,143,443,445,993,995,1723,3306,3389,5900,8080"
"""The ports the scanner's alive test (Boreas, gvm-libs) probes for a TCP-ACK or TCP-SYN service
ping when alive_test_ports does not say (ospd-openvas' default of that preference too)."""
YES = frozenset({"yes", "1"})
"""How a boolean scanner preference reads as on: gvmd keeps what was written ("yes"), the
scanner's defaults come as "1" (ospd-openvas sends booleans as 1 and 0)."""
OPENVAS_DEFAULTS = {"checks_read_timeout": 5, "max_checks": 4, "max_hosts": 20}
"""What openvas does when a value is absent (used when reading a document back)."""

# (oid, preference id, type, name) of the NVT preferences scanguard manages; the GMP name of a
# preference is "OID:ID:TYPE:NAME".
PING_TCP = (PING_HOST, 1, "checkbox", "Do a TCP ping")
PING_TCP_ALSO_SYN = (PING_HOST, 2, "checkbox", "TCP ping tries also TCP-SYN ping")
PING_ICMP = (PING_HOST, 3, "checkbox", "Do an ICMP ping")
PING_ARP = (PING_HOST, 4, "checkbox", "Use ARP")
PING_MARK_DEAD = (PING_HOST, 5, "checkbox", "Mark unrechable Hosts as dead (not scanning)")
PING_TCP_ONLY_SYN = (PING_HOST, 7, "checkbox", "TCP ping tries only TCP-SYN ping")
PING_PORTS = (PING_HOST, 10, "entry", "nmap additional ports for -PA")
NMAP_TECHNIQUE = (NMAP_WRAPPER, 1, "radio", "TCP scanning technique :")
NMAP_MAX_RTT = (NMAP_WRAPPER, 11, "entry", "Max RTT Timeout (ms) :")
NMAP_PARALLEL = (NMAP_WRAPPER, 13, "entry", "Ports scanned in parallel (max)")
NMAP_MIN_WAIT = (NMAP_WRAPPER, 15, "entry", "Minimum wait between probes (ms)")
NMAP_NO_ARP = (NMAP_WRAPPER, 25, "checkbox", "No ARP or ND Ping")
MANAGED_NVT_PREFERENCES = (
    PING_TCP, PING_TCP_ALSO_SYN, PING_ICMP, PING_ARP, PING_MARK_DEAD, PING_TCP_ONLY_SYN, PING_PORTS,
    NMAP_TECHNIQUE, NMAP_MAX_RTT, NMAP_PARALLEL, NMAP_MIN_WAIT, NMAP_NO_ARP,
)
TCP_PING_ALWAYS = 80
"""nmap's -PA always probes port 80; Ping Host's port preference only adds ports to it."""
PING_PORTS_DEFAULT = "137,587,3128,8081"
"""Ping Host's default additional -PA ports (used when a document does not say)."""
SYN_TECHNIQUES = frozenset({"SYN scan", "SYN FIN scan", "FIN SYN scan", "FIN scan", "Xmas Tree scan", "Null scan"})
"""nmap TCP scanning techniques that send raw packets rather than full connections."""


def preference_key(pref: tuple[str, int, str, str]) -> str:
    """The GMP name of an NVT preference: "OID:ID:TYPE:NAME"."""
    oid, pid, kind, name = pref
    return f"{oid}:{pid}:{kind}:{name}"


ALIVE_TESTS: dict[tuple[bool, bool, bool], str] = {
    (False, False, False): "Consider Alive",
    (True, False, False): "ICMP Ping",
    (False, True, False): "TCP-ACK Service Ping",
    (False, False, True): "ARP Ping",
    (True, True, False): "ICMP & TCP-ACK Service Ping",
    (True, False, True): "ICMP & ARP Ping",
    (False, True, True): "TCP-ACK Service & ARP Ping",
    (True, True, True): "ICMP, TCP-ACK Service & ARP Ping",
}
"""(icmp, tcp, arp) -> the target's alive test. GVM has no UDP ping."""
ALIVE_TEST_METHODS: dict[str, tuple[bool, bool, bool]] = {v: k for k, v in ALIVE_TESTS.items()}
ALIVE_TEST_METHODS["TCP-SYN Service Ping"] = (False, True, False)
SYN_ALIVE_TESTS = frozenset({"TCP-SYN Service Ping"})
"""Alive tests whose TCP ping sends SYN (the ones scanguard renders send ACK)."""

KNOWN_FAMILIES: tuple[str, ...] = (
    "AIX Local Security Checks", "Amazon Linux Local Security Checks", "Brute force attacks", "Buffer overflow",
    "CISCO", "CentOS Local Security Checks", "Citrix Xenserver Local Security Checks", "Compliance", "Databases",
    "Debian Local Security Checks", "Default Accounts", "Denial of Service", "F5 Local Security Checks", "FTP",
    "Fedora Local Security Checks", "FortiOS Local Security Checks", "FreeBSD Local Security Checks",
    "Gain a shell remotely", "General", "Gentoo Local Security Checks", "HP-UX Local Security Checks", "Huawei",
    "Huawei EulerOS Local Security Checks", "IT-Grundschutz", "JunOS Local Security Checks",
    "Mac OS X Local Security Checks", "Malware", "Mandrake Local Security Checks", "Nmap NSE", "Nmap NSE net",
    "Oracle Linux Local Security Checks", "Palo Alto PAN-OS Local Security Checks", "Peer-To-Peer File Sharing",
    "Policy", "Port scanners", "Privilege escalation", "Product detection", "RPC", "Red Hat Local Security Checks",
    "Remote file access", "SMTP problems", "SNMP", "Service detection", "Settings", "Slackware Local Security Checks",
    "Solaris Local Security Checks", "SuSE Local Security Checks", "Ubuntu Local Security Checks",
    "Useless services", "VMware Local Security Checks", "Web Servers", "Web application abuses", "Windows",
    "Windows : Microsoft Bulletins",
)
"""The NVT families of the Greenbone feed, for the offline GMP commands of `render --out` (a
live push reads the scanner's own family list instead)."""
