"""A stand-in for ospd-openvas: the OSP server gvmd learns its NVTs, NVT families, NVT preferences
and scanner preferences from, on a Unix socket (no network at all).

    python -m scanguard_testbed_scanners.osp_scanner --socket /tmp/x/ospd.sock [--pidfile F]

What is real and what is stand-in:

- The protocol is gvmd's: gvmd (gvm-libs osp.c) connects to the socket, writes one command and
  reads one XML answer per connection; for its NVT sync it sends `<get_vts version_only='1'/>`
  (the feed version, compared with the one in its database), `<get_vts/>` or
  `<get_vts filter='modification_time>...'/>` (the VTs: OID, name, family, category, severities,
  preferences as `params/param`) and `<get_scanner_details/>` (the scanner preferences). gvmd's
  own parser (manage_sql_nvts_osp.c) reads what is answered here, exactly as from ospd-openvas.
- The NVTs are a small excerpt of the Greenbone community feed: the real OIDs, names, families,
  script categories and preferences (ids, types, names, defaults) of the NVTs scanguard touches:
  Ping Host, the Nmap wrapper and the OpenVAS TCP scanner (all three in "Port scanners"), and a
  few NVTs of each family the example workspace switches off. Descriptions, references and
  severities are left out or minimal; nothing runs them.
- The scanner preferences are the ones ospd-openvas lists as visible to clients (ospd-openvas'
  OSPD_PARAMS), with its defaults, `alive_test_ports` among them.
- It never scans: start_scan and anything else is refused ("Bogus command name").
"""

from __future__ import annotations

import argparse
import calendar
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .xmlstream import read_element

PING_HOST = "1.3.6.1.4.1.25623.1.0.100315"
NMAP_WRAPPER = "1.3.6.1.4.1.25623.1.0.14259"
OPENVAS_TCP_SCANNER = "1.3.6.1.4.1.25623.1.0.10335"

# nvt_category of gvm-libs (util/vtparser.h)
ACT_SCANNER, ACT_GATHER_INFO, ACT_ATTACK, ACT_DENIAL = 1, 3, 4, 7


@dataclass(frozen=True)
class Pref:
    """One NVT preference as the NASL script declares it (script_add_preference)."""

    id: int
    type: str
    name: str
    default: str


@dataclass(frozen=True)
class Nvt:
    """One NVT of the stand-in feed."""

    oid: str
    name: str
    family: str
    category: int
    created: str
    modified: str
    prefs: tuple[Pref, ...] = field(default_factory=tuple)


def _epoch(stamp: str) -> int:
    """'2009-10-26 09:02:32' (UTC) as seconds since the epoch."""
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))


# The preferences of Ping Host (host_alive_detection.nasl) and of the Nmap wrapper (nmap.nasl), as
# the community feed declares them.
PING_HOST_PREFS = (
    Pref(8, "checkbox", "Use nmap", "yes"),
    Pref(6, "checkbox", "Report about unrechable Hosts", "no"),
    Pref(5, "checkbox", "Mark unrechable Hosts as dead (not scanning)", "yes"),
    Pref(9, "checkbox", "Report about reachable Hosts", "no"),
    Pref(4, "checkbox", "Use ARP", "no"),
    Pref(1, "checkbox", "Do a TCP ping", "no"),
    Pref(2, "checkbox", "TCP ping tries also TCP-SYN ping", "no"),
    Pref(7, "checkbox", "TCP ping tries only TCP-SYN ping", "no"),
    Pref(3, "checkbox", "Do an ICMP ping", "yes"),
    Pref(10, "entry", "nmap additional ports for -PA", "137,587,3128,8081"),
    Pref(11, "checkbox", "nmap: try also with only -sP", "no"),
    Pref(12, "checkbox", "Log nmap output", "no"),
    Pref(13, "checkbox", "Log failed nmap calls", "no"),
    Pref(14, "radio", "nmap timing policy", "Normal;Paranoid;Sneaky;Polite;Aggressive;Insane"),
)
NMAP_PREFS = (
    Pref(1, "radio", "TCP scanning technique :",
         "connect();SYN scan;FIN scan;Xmas Tree scan;SYN FIN scan;FIN SYN scan;Null scan;No TCP scan"),
    Pref(2, "checkbox", "Service scan", "no"),
    Pref(3, "checkbox", "RPC port scan", "no"),
    Pref(4, "checkbox", "Fragment IP packets (bypasses firewalls)", "no"),
    Pref(5, "checkbox", "Do not randomize the  order  in  which ports are scanned", "no"),
    Pref(6, "entry", "Source port :", ""),
    Pref(7, "radio", "Timing policy :", "Aggressive;Insane;Normal;Polite;Sneaky;Paranoid;Custom"),
    Pref(8, "entry", "Max Retries :", ""),
    Pref(9, "entry", "Host Timeout (ms) :", ""),
    Pref(10, "entry", "Min RTT Timeout (ms) :", ""),
    Pref(11, "entry", "Max RTT Timeout (ms) :", ""),
    Pref(12, "entry", "Initial RTT timeout (ms) :", ""),
    Pref(13, "entry", "Ports scanned in parallel (max)", ""),
    Pref(14, "entry", "Ports scanned in parallel (min)", ""),
    Pref(15, "entry", "Minimum wait between probes (ms)", ""),
    Pref(16, "entry", "Maximum wait between probes (ms)", ""),
    Pref(17, "file", "File containing grepable results : ", ""),
    Pref(18, "checkbox", "Do not scan targets not in the file", "no"),
    Pref(19, "entry", "Data length : ", ""),
    Pref(20, "checkbox", "Run dangerous port scans even if safe checks are set", "no"),
    Pref(21, "checkbox", "Log nmap output", "no"),
    Pref(22, "checkbox", "Defeat RST ratelimit", "no"),
    Pref(23, "checkbox", "Defeat ICMP ratelimit", "no"),
    Pref(24, "checkbox", "Send using IP packets", "no"),
    Pref(25, "checkbox", "No ARP or ND Ping", "no"),
)

FEED: tuple[Nvt, ...] = (
    Nvt(PING_HOST, "Ping Host", "Port scanners", ACT_SCANNER, "2009-10-26 09:02:32", "2023-05-05 16:07:24",
        PING_HOST_PREFS),
    Nvt(NMAP_WRAPPER, "Nmap (NASL wrapper)", "Port scanners", ACT_SCANNER, "2005-11-03 13:08:04",
        "2023-08-01 13:29:10", NMAP_PREFS),
    Nvt(OPENVAS_TCP_SCANNER, "OpenVAS TCP scanner", "Port scanners", ACT_SCANNER, "2011-01-14 09:12:23",
        "2018-10-20 11:59:41"),
    Nvt("1.3.6.1.4.1.25623.1.0.10330", "Services", "Service detection", ACT_GATHER_INFO, "2011-01-14 09:12:23",
        "2023-06-14 05:05:19"),
    Nvt("1.3.6.1.4.1.25623.1.0.11062", "BadBlue invalid GET DoS", "Denial of Service", ACT_DENIAL,
        "2005-11-03 13:08:04", "2022-05-12 09:32:01"),
    Nvt("1.3.6.1.4.1.25623.1.0.803491", "Cogent DataHub Multiple Vulnerabilities", "Denial of Service",
        ACT_DENIAL, "2013-04-16 05:51:21", "2018-10-12 10:03:43"),
    Nvt("1.3.6.1.4.1.25623.1.0.127401", "Redis < 6.0.19, 6.2.x < 6.2.12, 7.0.x < 7.0.11 DoS Vulnerability",
        "Denial of Service", ACT_GATHER_INFO, "2023-04-19 14:40:38", "2023-04-20 07:50:57"),
    Nvt("1.3.6.1.4.1.25623.1.0.108041", "HTTP Brute Force Logins With Default Credentials", "Brute force attacks",
        ACT_ATTACK, "2011-09-06 12:38:09", "2024-09-13 15:40:36"),
    Nvt("1.3.6.1.4.1.25623.1.0.108718", "FTP Brute Force Logins Reporting", "Brute force attacks", ACT_ATTACK,
        "2020-03-05 14:02:28", "2023-04-17 10:19:34"),
    Nvt("1.3.6.1.4.1.25623.1.0.150759", "Exim < 4.95 Buffer Overflow Vulnerability", "Buffer overflow",
        ACT_GATHER_INFO, "2022-08-08 09:15:11", "2022-08-08 09:24:26"),
    Nvt("1.3.6.1.4.1.25623.1.0.900652", "NTP 'ntpd' Autokey Stack Overflow Vulnerability", "Buffer overflow",
        ACT_GATHER_INFO, "2009-05-22 06:49:17", "2019-04-29 15:08:03"),
    Nvt("1.3.6.1.4.1.25623.1.0.10995", "Sun JavaServer Default Admin Password (HTTP)", "Default Accounts",
        ACT_ATTACK, "2005-11-03 13:08:04", "2023-06-27 05:05:30"),
    Nvt("1.3.6.1.4.1.25623.1.0.10753", "AOLserver Default Password (HTTP)", "Default Accounts", ACT_ATTACK,
        "2005-11-03 13:08:04", "2025-03-11 05:38:16"),
    Nvt("1.3.6.1.4.1.25623.1.0.103549", "Possible Backdoor: Ingreslock", "Gain a shell remotely", ACT_ATTACK,
        "2012-08-22 14:21:38", "2023-07-25 05:05:58"),
    Nvt("1.3.6.1.4.1.25623.1.0.10662", "Web mirroring", "Web application abuses", ACT_GATHER_INFO,
        "2009-10-02 17:48:14", "2019-05-09 05:35:44"),
)
"""The stand-in feed (see the module docstring): real OIDs, names, families and preferences."""

FAMILIES: dict[str, tuple[Nvt, ...]] = {}
for _nvt in FEED:
    FAMILIES[_nvt.family] = FAMILIES.get(_nvt.family, ()) + (_nvt,)


@dataclass(frozen=True)
class ScannerParam:
    """A scanner preference as ospd-openvas lists it in get_scanner_details."""

    id: str
    type: str
    default: str
    mandatory: int
    description: str


# ospd-openvas' OSPD_PARAMS with visible_for_client set (the others never reach gvmd), with their
# defaults as ospd sends them (str() of the Python value: booleans as 1 and 0).
SCANNER_PARAMS: tuple[ScannerParam, ...] = (
    ScannerParam("auto_enable_dependencies", "boolean", "1", 1,
                 "Automatically enable the plugins that are depended on"),
    ScannerParam("cgi_path", "string", "/cgi-bin:/scripts", 1, "Look for default CGIs in /cgi-bin and /scripts"),
    ScannerParam("checks_read_timeout", "integer", "5", 1,
                 "Number  of seconds that the security checks will wait for when doing a recv()"),
    ScannerParam("non_simult_ports", "string", "139, 445, 3389, Services/irc", 1,
                 "Prevent to make two connections on the same given ports at the same time."),
    ScannerParam("open_sock_max_attempts", "integer", "5", 0,
                 "Number of unsuccessful retries to open the socket before to set the port as closed."),
    ScannerParam("timeout_retry", "integer", "5", 0, "Number of retries when a socket connection attempt timesout."),
    ScannerParam("optimize_test", "boolean", "1", 0, "By default, optimize_test is enabled."),
    ScannerParam("plugins_timeout", "integer", "5", 0, "This is the maximum lifetime, in seconds of a plugin."),
    ScannerParam("report_host_details", "boolean", "1", 1, ""),
    ScannerParam("safe_checks", "boolean", "1", 1, "Disable the plugins with potential to crash the remote services"),
    ScannerParam("scanner_plugins_timeout", "integer", "36000", 1,
                 "Like plugins_timeout, but for ACT_SCANNER plugins."),
    ScannerParam("time_between_request", "integer", "0", 0,
                 "Allow to set a wait time between two actions (open, send, close)."),
    ScannerParam("unscanned_closed", "boolean", "1", 1, ""),
    ScannerParam("unscanned_closed_udp", "boolean", "1", 1, ""),
    ScannerParam("expand_vhosts", "boolean", "1", 0, "Whether to expand the target hosts list of vhosts."),
    ScannerParam("test_empty_vhost", "boolean", "0", 0, "Also test the target by using empty vhost value."),
    ScannerParam("alive_test_ports", "string", "21-23,25,53,80,110-111,135,139,143,443,445,993,995,1723,3306,3389,"
                 "5900,8080", 0, "Port list used for host alive detection."),
    ScannerParam("test_alive_wait_timeout", "integer", "1", 0,
                 "This is the default timeout to wait for replies after last packet was sent."),
    ScannerParam("results_per_host", "integer", "10", 0,
                 "Amount of fake results generated per each host in the target list for a dry run scan."),
    ScannerParam("table_driven_lsc", "boolean", "1", 0,
                 "If this option is enabled a scanner for table_driven_lsc will scan package results."),
)

FEED_VERSION = time.strftime("%Y%m%d%H%M%S", time.gmtime(max(_epoch(n.modified) for n in FEED)))
"""The feed version gvmd compares with its database (gvmd reads it as %Y%m%d%H%M%S)."""


def _vt_xml(nvt: Nvt) -> str:
    params = "".join(
        f'<param type={quoteattr(p.type)} id="{p.id}"><name>{escape(p.name)}</name><description/>'
        f"<default>{escape(p.default)}</default></param>" for p in nvt.prefs)
    return (f'<vt id="{nvt.oid}"><name>{escape(nvt.name)}</name>'
            f"<creation_time>{_epoch(nvt.created)}</creation_time>"
            f"<modification_time>{_epoch(nvt.modified)}</modification_time>"
            f"<params>{params}</params><refs/><summary>{escape(nvt.name)} (scanguard stand-in feed)</summary>"
            f'<detection qod_type="remote_banner"/>'
            f'<severities><severity type="cvss_base_v2"><value>AV:N/AC:L/Au:N/C:N/I:N/A:N</value></severity>'
            f"</severities><custom><category>{nvt.category}</category><family>{escape(nvt.family)}</family></custom>"
            "</vt>")


def answer(command: etree._Element) -> str:
    """The OSP answer to one command, as ospd-openvas gives it."""
    tag = command.tag if isinstance(command.tag, str) else "bogus"
    ok = 'status="200" status_text="OK"'
    feed = (f'vts_version="{FEED_VERSION}" feed_name="scanguard stand-in feed" feed_vendor="scanguard" '
            'feed_home="scanguard_testbed_scanners/osp_scanner.py"')
    if tag == "get_version":
        return (f"<get_version_response {ok}><protocol><version>21.04</version><name>OSP</name></protocol>"
                f"<vts><version>{FEED_VERSION}</version><vendor>scanguard</vendor><home/>"
                "<name>scanguard stand-in feed</name></vts>"
                "<daemon><name>OSPd OpenVAS</name><version>stand-in</version></daemon>"
                "<scanner><name>openvas</name><version>stand-in</version></scanner></get_version_response>")
    if tag == "get_vts":
        if command.get("version_only") == "1":
            return f"<get_vts_response {ok}><vts {feed}/></get_vts_response>"
        vts = "".join(_vt_xml(n) for n in FEED)
        return f'<get_vts_response {ok}><vts {feed} total="{len(FEED)}">{vts}</vts></get_vts_response>'
    if tag == "get_scanner_details":
        params = "".join(
            f'<scanner_param id="{p.id}" type="{p.type}"><name>{p.id}</name>'
            f"<description>{escape(p.description)}</description><default>{escape(p.default)}</default>"
            f"<mandatory>{p.mandatory}</mandatory></scanner_param>" for p in SCANNER_PARAMS)
        return (f"<get_scanner_details_response {ok}><description>scanguard stand-in for ospd-openvas: "
                f"answers gvmd's NVT sync, never scans</description><scanner_params>{params}</scanner_params>"
                "</get_scanner_details_response>")
    if tag == "check_feed":
        return (f"<check_feed_response {ok}><feed><lockfile_in_use>0</lockfile_in_use>"
                "<self_test_exit_error>0</self_test_exit_error><self_test_error_msg/></feed></check_feed_response>")
    return f'<{tag}_response status="400" status_text="Bogus command name"/>'


class OspStandIn:
    """The stand-in scanner on a Unix socket, served by a thread (or `serve_forever`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.commands: list[str] = []
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> "OspStandIn":
        """Listen on the socket (mode 0600: only its owner, gvmd running as root here, connects)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        return self

    def serve_forever(self) -> None:
        """Answer one command per connection, as ospd does, until stopped."""
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    cmd = read_element(lambda: conn.recv(65536))
                    if cmd is not None:
                        self.commands.append(cmd.tag if isinstance(cmd.tag, str) else "bogus")
                        conn.sendall(answer(cmd).encode())
                except OSError:
                    continue

    def start(self) -> "OspStandIn":
        """Bind and serve from a daemon thread."""
        self.bind()
        self._thread = threading.Thread(target=self.serve_forever, name="osp-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        if self.path.exists():
            self.path.unlink()


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in on --socket until SIGTERM; write the PID to --pidfile."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--pidfile")
    args = ap.parse_args(argv)
    server = OspStandIn(args.socket).bind()
    signal.signal(signal.SIGTERM, lambda *_: server._stop.set())
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n")
    print(f"OSP stand-in on {args.socket} (pid {os.getpid()}), feed version {FEED_VERSION}", file=sys.stderr)
    try:
        server.serve_forever()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
