"""The nmap vocabulary both directions share: how neutral check categories map to NSE, and what
nmap does by itself (its defaults, what -sV runs). README.md explains each entry."""

from __future__ import annotations

from scanguard import PortSet

VENDOR = "nmap"
NSE_BASE = ("default", "safe", "vuln")
CATEGORY_TERMS: dict[str, tuple[str, ...]] = {
    "dos": ("dos",),
    "brute-force": ("brute",),
    "exploit": ("exploit",),
    "intrusive": ("intrusive",),
    "fuzzing": ("fuzzer",),
    "default-credentials": ("auth",),
    "web-crawl": (
        "http-auth-finder", "http-backup-finder", "http-chrono", "http-comments-displayer", "http-csrf",
        "http-devframework", "http-dombased-xss", "http-errors", "http-exif-spider", "http-feed", "http-fetch",
        "http-fileupload-exploiter", "http-form-fuzzer", "http-grep", "http-jsonp-detection", "http-method-tamper",
        "http-mobileversion-checker", "http-open-redirect", "http-phpself-xss", "http-referer-checker",
        "http-rfi-spider", "http-sitemap-generator", "http-sql-injection", "http-stored-xss",
        "http-unsafe-output-escaping", "http-useragent-tester",
    ),  # every script of nmap 7.93 that crawls with its httpspider library (a test checks the installed nmap)
    "unsafe": (),  # expressed as "safe and ...": only scripts nmap marks safe run
}
"""Neutral category -> NSE categories or script names to leave out."""
NAME_LOOKUP_SCRIPTS = ("dns-client-subnet-scan", "dns-srv-enum", "fcrdns", "ftp-bounce", "ip-forwarding",
                       "resolveall")
"""NSE scripts that send name lookups to the scanning machine's resolver (or resolve a third
party's name) whatever ``-n`` says; ``fcrdns`` is in the ``safe`` category."""
ALWAYS_LEFT_OUT = ("broadcast", "external", *NAME_LOOKUP_SCRIPTS)
"""Never run, whatever the template: NSE counts some of these as safe, yet broadcast scripts probe
the whole local network whatever the targets, external scripts send target data to third-party
services, and the name-lookup scripts send queries to a resolver that is not the target."""
CHECK_KINDS = frozenset({"script", "category"})
"""The kinds of nmap-specific check ids a profile can exclude."""
NMAP_DEFAULTS = {"parallel_hosts": 4096, "parallel_checks_per_host": 300, "timeout_s": 10}
"""What nmap does when a command line does not say: no cap worth the name on hosts in parallel
or probes in flight, and a 10 s round-trip timeout."""
VERSION_SCRIPT_CATEGORIES = frozenset({"default", "discovery", "safe", "version", "vuln"})
"""The NSE categories of the scripts ``-sV`` runs by itself (nmap 7.93's "version" scripts, 21 of
them not in "safe": bacnet-info, enip-info, omron-info among them)."""
CRAWLER_SCRIPTS = frozenset(CATEGORY_TERMS["web-crawl"])
"""The web-crawl scripts: none is a version script, so -sV does not run them."""
DEFAULT_PING_PORTS = PortSet.parse("80,443")
"""nmap's default host discovery: ICMP echo and timestamp, TCP SYN to 443, TCP ACK to 80."""
ALL_PORTS = PortSet.all()
