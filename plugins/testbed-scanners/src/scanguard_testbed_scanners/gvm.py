"""A stateful fake gvmd: a real TLS socket on loopback (127.0.0.1 unless `host`/`port` say
otherwise) that speaks GMP for python-gvm, answering
the way the real gvmd 26 (GMP 22.7) does.

    with FakeGvmd() as fake:                # feed=False: a gvmd without an NVT feed
        conn = TLSConnection(hostname=fake.host, port=fake.port, ...)   # CA in fake.ca_bundle
        ...
        fake.state.configs            # what lives on the "scanner"
        fake.edit("config", cid, scanner_preferences={"safe_checks": "no"})   # a hand edit
        fake.fail_next("503", command="get_configs")                        # fault injection
        fake.requests                  # [(command, status), ...]

The contract is the real gvmd's, recorded in ../shared/fixtures/gvm/gmp-real-answers.jsonl
(plugins/gvm/tests/test_gvm_fake_fidelity.py replays every record against this fake) and read
from gvmd's source where the recording is silent. What it reproduces:

- port ranges as gvmd reads them (T:/U: prefixes carry over, overlaps merge, 0, >65535 and
  backwards ranges refused); a port list used by a target refuses new ranges, but a range of a
  port list in use can be deleted; modify_port_list sets name and comment, blanking what it is
  not given;
- targets: hosts cleaned and counted as gvm-libs does (a CIDR block without its network and
  broadcast address; at most `max_ips_per_target` addresses before exclusions, in the exclude
  list too: "Error in host specification"); a target in use refuses new hosts, exclusions, port
  list and lookup options, but takes a new name, comment or alive test;
- scan configs: copied or imported (a clashing imported name gets " 2"), preferences refused
  while a task uses the config ("Config is in use"), feed configs not writable ("Permission
  denied"); listed with the families that have selected NVTs and every preference gvmd knows
  (the feed's NVT preferences and the scanner's preferences), radio values first option first;
- sessions: any command but get_version and authenticate before authenticating is answered
  `<gmp_response status="400" status_text="Only command GET_VERSION is allowed before
  AUTHENTICATE"/>` and the connection closed (gmp.c; what python-gvm meets when it opens a lost
  connection again by itself);
- tasks: modify_task checks the config first, then applies name, comment, config, alterable,
  target and preferences one after the other, stopping at the first refusal (a task that has run
  and is not alterable takes no new config or target); start_task interrupts at once (no scanner
  runs);
- the feed: by default the stand-in feed of osp_scanner.py beside this module (the NVTs, families and
  preferences a real gvmd learns from the stand-in scanner), the "Full and fast" and "Empty"
  configs and the "All IANA assigned TCP" port list of stub-feed.sh; with feed=False none of
  that: no NVTs, no families, no preferences, 503 to NVT look-ups.

Faults (the API of the Nessus fake): kinds "500" and "503" (a GMP error response), "reset"
(close the connection without answering) and "timeout" (carry the command out, as a busy gvmd
does, and never answer: the connection is held silent until the client gives up, at most
`hang_s` seconds). `fail_next(kind, count, command)` injects into the next matching requests;
`fail_at(n, kind)` into the n-th request this server receives (1-based, counted from its start:
`fail_at(len(fake.requests) + 1, kind)` is the next one); `clear_faults()` forgets them;
`latency` delays every answer by that many seconds. `requests` logs (command, status) per
request, status 0 when no answer was sent.

Timeouts without waiting: a client whose connection goes through `fake.timed(connection)` (or,
for clients scanguard makes itself, any GVM client while `with fake.timed_clients(module):` is
active, `module` being the GVM plugin's client module)
sees a "timeout" fault at once, as the TimeoutError its socket would raise, and is otherwise
given as long as its own `timeout_s`. So a test can give clients a generous timeout, which real
slowness of a loaded machine never reaches, and still meet every timeout fault where it was
injected, without waiting for it.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import select
import socket
import ssl
import struct
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from .common import LoopbackTLS
from .osp_scanner import FEED, FEED_VERSION, SCANNER_PARAMS, Nvt
from .xmlstream import read_element

FULL_AND_FAST = "daba56c8-73ec-11df-a475-002264764cea"
EMPTY = "085569ce-73ed-11df-83c3-002264764cea"
ALL_IANA_TCP = "33d0cd82-57c6-11e1-8ed1-406186ea4fc5"
OPENVAS_SCANNER = "08b69003-5fc2-4037-a479-93b440211c73"
CVE_SCANNER = "6acd0832-df90-11e4-b9d5-28d24461215b"
PING_HOST = "1.3.6.1.4.1.25623.1.0.100315"
NMAP_WRAPPER = "1.3.6.1.4.1.25623.1.0.14259"

FAULT_KINDS = ("500", "503", "reset", "timeout")
FAULT_TEXT = {"500": "Internal error", "503": "Service temporarily down"}
BEFORE_AUTHENTICATE = "Only command GET_VERSION is allowed before AUTHENTICATE"
ALIVE_TESTS = (
    "Scan Config Default", "ICMP Ping", "TCP-ACK Service Ping", "TCP-SYN Service Ping", "ARP Ping",
    "ICMP & TCP-ACK Service Ping", "ICMP & ARP Ping", "TCP-ACK Service & ARP Ping",
    "ICMP, TCP-ACK Service & ARP Ping", "Consider Alive",
)
TASK_PREF_DEFAULTS = {"max_checks": "4", "max_hosts": "20", "in_assets": "yes", "assets_apply_overrides": "yes",
                      "assets_min_qod": "70", "auto_delete": "0", "auto_delete_data": "0"}
TASK_PREF_TITLES = {"max_checks": "Maximum concurrently executed NVTs per host",
                    "max_hosts": "Maximum concurrently scanned hosts"}
TARGET_LOCKED = ("hosts", "exclude_hosts", "port_list", "allow_simultaneous_ips", "reverse_lookup_only",
                 "reverse_lookup_unify", "ssh_credential", "smb_credential", "esxi_credential", "snmp_credential")
"""What a target in use refuses to change ("Target is in use"); name, comment and alive test it takes."""


class GmpError(Exception):
    """A command refused the way gvmd refuses it."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass
class PortList:
    id: str
    name: str
    comment: str = ""
    ranges: list[dict[str, Any]] = field(default_factory=list)  # {"id", "type": "tcp"|"udp", "start", "end"}
    feed: bool = False


@dataclass
class Config:
    id: str
    name: str
    comment: str = ""
    feed: bool = False
    family_growing: bool = True
    growing: dict[str, bool] = field(default_factory=dict)  # family -> new NVTs are added
    selected: set[str] = field(default_factory=set)  # selected NVT OIDs
    scanner_prefs: dict[str, str] = field(default_factory=dict)  # set on this config (else the scanner's default)
    nvt_prefs: dict[str, str] = field(default_factory=dict)  # "OID:ID:TYPE:NAME" -> value set on this config
    created_at: str = "2026-01-01T00:00:00Z"


@dataclass
class Target:
    id: str
    name: str
    hosts: str
    port_list_id: str
    comment: str = ""
    exclude_hosts: str = ""
    max_hosts: int = 0
    alive_tests: str = "Scan Config Default"
    allow_simultaneous_ips: str = "1"
    reverse_lookup_only: str = "0"
    reverse_lookup_unify: str = "0"


@dataclass
class Task:
    id: str
    name: str
    config_id: str | None
    target_id: str | None
    scanner_id: str | None
    comment: str = ""
    alterable: bool = False
    status: str = "New"
    preferences: dict[str, str] = field(default_factory=lambda: dict(TASK_PREF_DEFAULTS))
    reports: list[str] = field(default_factory=list)


@dataclass
class State:
    """Everything the fake scanner holds. Read it in tests; change it through GMP, or through
    `FakeGvmd.edit` for what a test needs beyond GMP."""

    feed: tuple[Nvt, ...] = ()
    port_lists: dict[str, PortList] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)

    def family_of(self, oid: str) -> str | None:
        """The feed family of an NVT."""
        return next((n.family for n in self.feed if n.oid == oid), None)

    def families(self) -> dict[str, list[Nvt]]:
        """Family -> its NVTs, families in name order."""
        out: dict[str, list[Nvt]] = {}
        for n in sorted(self.feed, key=lambda n: n.family):
            out.setdefault(n.family, []).append(n)
        return out

    def config_in_use(self, cid: str) -> bool:
        return any(t.config_id == cid for t in self.tasks.values())

    def port_list_in_use(self, pid: str) -> bool:
        return any(t.port_list_id == pid for t in self.targets.values())

    def target_in_use(self, tid: str) -> bool:
        return any(t.target_id == tid for t in self.tasks.values())


def parse_port_range(text: str) -> list[dict[str, Any]]:
    """gvmd's port range text: items separated by commas, each optionally prefixed T: or U:
    (the prefix carries to the items after it; an empty item is skipped); overlapping and
    repeated ranges merge; raises GmpError 400 on bad input."""
    spans: dict[str, list[tuple[int, int]]] = {"tcp": [], "udp": []}
    proto = "tcp"
    for raw in text.split(","):
        item = raw.strip()
        if item[:2].upper() in ("T:", "U:"):
            proto = "tcp" if item[0].upper() == "T" else "udp"
            item = item[2:].strip()
        if not item:
            continue
        lo, _, hi = item.partition("-")
        if not lo.isdigit() or not (hi or lo).isdigit():
            raise GmpError(400, "Error in port range")
        start, end = int(lo), int(hi or lo)
        if not (1 <= start <= end <= 65535):
            raise GmpError(400, "Error in port range")
        spans[proto].append((start, end))
    out = []
    for proto in ("tcp", "udp"):
        merged: list[list[int]] = []
        for start, end in sorted(spans[proto]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out += [{"id": str(uuid.uuid4()), "type": proto, "start": a, "end": b} for a, b in merged]
    if not out:
        raise GmpError(400, "Error in port range")
    return out


_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def clean_hosts(text: str) -> str:
    """What gvmd stores of a host list: items split at commas (and newlines), each cut at its
    first blank, empty ones and repeats dropped, joined with ", "."""
    items: list[str] = []
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip(" \t").split(" ")[0].split("\t")[0]
        if item and item not in items:
            items.append(item)
    return ", ".join(items)


def expand(item: str) -> tuple[str, int, int] | None:
    """One host item as gvm-libs expands it: (family, first, last) for addresses ("name" for a
    host name, counted once), None when gvmd cannot read it."""
    try:
        if "/" in item:
            addr, _, bits = item.partition("/")
            if ":" in addr:
                net = ipaddress.IPv6Network(item, strict=False)
                lo, hi = int(net.network_address), int(net.broadcast_address)
                return ("v6", lo, hi) if net.prefixlen >= 127 else ("v6", lo + 1, hi - 1)
            if not bits.isdigit() or not 1 <= int(bits) <= 30:
                return None
            net = ipaddress.IPv4Network(item, strict=False)
            return "v4", int(net.network_address) + 1, int(net.broadcast_address) - 1
        if "-" in item:
            a, _, b = item.partition("-")
            first = ipaddress.ip_address(a)
            if first.version == 4 and b.isdigit():
                if int(b) > 255:
                    return None
                return "v4", int(first), (int(first) & 0xFFFFFF00) + int(b)
            last = ipaddress.ip_address(b)
            if last.version != first.version:
                return None
            return ("v4" if first.version == 4 else "v6"), int(first), int(last)
        addr = ipaddress.ip_address(item)
        return ("v4" if addr.version == 4 else "v6"), int(addr), int(addr)
    except ValueError:
        return ("name", 0, 0) if _HOSTNAME.match(item) else None


def _expanded(text: str, limit: int) -> list[tuple[str, int, int]] | None:
    """gvm_hosts_new_with_max: every item expanded in order; None when an item cannot be read or
    a range takes the count past `limit` (single addresses and names are added unchecked)."""
    out, count = [], 0
    for item in (i for i in text.split(", ") if i):
        span = expand(item)
        if span is None:
            return None
        fam, lo, hi = span
        if hi < lo:
            continue  # gvm-libs skips a range that runs backwards
        if fam == "name" or lo == hi:
            count += 1
        else:
            if count + (hi - lo) > limit:
                return None
            count += hi - lo + 1
        out.append(span)
    return out


def count_hosts(hosts: str, exclude: str, limit: int) -> int:
    """gvmd's manage_count_hosts_max: the hosts left after exclusions; -1 when either list cannot
    be read or names more than `limit` addresses (counted before exclusions)."""
    inc, exc = _expanded(hosts, limit), _expanded(exclude, limit)
    if inc is None or exc is None:
        return -1
    size = sum(hi - lo + 1 for _, lo, hi in inc)
    for fam, lo, hi in inc:
        for efam, elo, ehi in exc:
            if fam == efam and fam != "name":
                size -= max(0, min(hi, ehi) - max(lo, elo) + 1)
    return size


def _text(el: etree._Element, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag)
    if child is None:
        return default
    return (child.text or "").strip()


def _filter_matches(filter_text: str | None, name: str, comment: str) -> bool:
    """The subset of gvmd's filter language scanguard uses: name=, name~, comment~ with optional
    double quotes (other keywords are ignored)."""
    for key, op, value in re.findall(r'(\w+)([=~])("[^"]*"|\S+)', filter_text or ""):
        if key in ("rows", "first", "sort", "sort-reverse"):
            continue
        field_value = {"name": name, "comment": comment}.get(key)
        if field_value is None:
            continue
        value = value.strip('"')
        if op == "=" and field_value != value:
            return False
        if op == "~" and value.lower() not in field_value.lower():
            return False
    return True


def _radio_first(value: str) -> str:
    return value.split(";", 1)[0]


class FakeGvmd:
    """A fake gvmd over TLS on `host`:`port` (127.0.0.1 and a free port unless given; see the
    module docstring)."""

    def __init__(self, *, username: str = "admin", password: str | None = None, version: str = "22.7",
                 timeout_sleep: float = 5.0, feed: bool = True, max_ips_per_target: int = 4095,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password or uuid.uuid4().hex
        self.version = version
        self.latency = 0.0
        self.timeout_sleep = timeout_sleep
        self.max_ips_per_target = max_ips_per_target
        self.ignore_task_repoints = False
        """When set, modify_task answers OK but leaves a task's config and target as they were: what
        gvmd did with a repoint sent the way older python-gvm sent it (python-gvm issue 304; the
        gvmd issue 1305 issue 9 cites)."""
        self.state = State(feed=FEED if feed else ())
        if feed:  # what stub-feed.sh gives a gvmd, and gvmd learns from the stand-in scanner
            self.state.configs[FULL_AND_FAST] = Config(
                id=FULL_AND_FAST, name="Full and fast", comment="Stand-in made by stub-feed.sh", feed=True,
                growing={n.family: True for n in FEED}, selected={n.oid for n in FEED})
            self.state.configs[EMPTY] = Config(id=EMPTY, name="Empty", comment="Stand-in made by stub-feed.sh",
                                               feed=True, family_growing=False)
            self.state.port_lists[ALL_IANA_TCP] = PortList(
                id=ALL_IANA_TCP, name="All IANA assigned TCP", feed=True,
                ranges=[{"id": str(uuid.uuid4()), "type": "tcp", "start": 1, "end": 1024}])
        self._created_count = 0
        self.requests: list[tuple[str, int | str]] = []
        self.ca_bundle = ""
        self._lock = threading.RLock()
        self._faults_next: list[tuple[str, str | None]] = []
        self._faults_at: dict[int, str] = {}
        self._count = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._tls: LoopbackTLS | None = None
        self._listener: socket.socket | None = None
        self._silent: set[tuple[str, int]] = set()
        """Client addresses of the connections a "timeout" fault holds silent."""

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "FakeGvmd":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def hang_s(self) -> float:
        """How long a "timeout" fault holds the connection (the Nessus fake's name)."""
        return self.timeout_sleep

    @hang_s.setter
    def hang_s(self, value: float) -> None:
        self.timeout_sleep = value

    def start(self) -> "FakeGvmd":
        """Listen on `host`:`port` (a free port when 0) with a fresh CA and a server certificate
        for that host; returns self."""
        self._tls = LoopbackTLS("fake-gvmd-", self.host)
        self.ca_bundle = self._tls.ca_bundle
        self._ctx = self._tls.context
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._listener = socket.create_server((self.host, self.port), family=family)
        except OSError:  # the address is taken or not local: leave no CA file behind
            self._tls.cleanup()
            raise
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="fake-gvmd-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop accepting, wake every sleeping fault, close every connection."""
        self._stop.set()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        if self._tls is not None:
            self._tls.cleanup()

    # -- fault injection and console edits -------------------------------------------------------
    def fail_next(self, kind: str, count: int = 1, command: str | None = None) -> None:
        """Make the next `count` requests (only `command` ones, if given) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults_next.extend([(kind, command)] * count)

    def fail_at(self, n: int, kind: str) -> None:
        """Make the n-th request (1-based, counted over the server's life) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._faults_at[n] = kind

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults_next.clear()
            self._faults_at.clear()

    def writes(self) -> list[tuple[str, int | str]]:
        """The logged requests that change state (create_*, modify_*, delete_*)."""
        with self._lock:
            return [r for r in self.requests if r[0].startswith(("create_", "modify_", "delete_"))]

    def edit(self, kind: str, id: str, **changes: Any) -> None:
        """A hand edit of what GMP refuses to change (for tests that need a state gvmd's checks
        would not let an admin reach; prefer GMP itself where it can).

        - port_list: add_range=("tcp", 7100, 7100), ranges=[("tcp", 1, 80), ...]
        - config: scanner_preferences={"safe_checks": "no"}, nvt_preferences={"OID:ID:TYPE:NAME": value},
          families_off=["Denial of Service"], families_on=[...], select=[oid, ...]
        - target: hosts=, exclude_hosts=, alive_tests=, port_list_id=
        - task: preferences={"max_checks": "10"}, config_id=, target_id=, status=, alterable=
        """
        with self._lock:
            s = self.state
            if kind == "port_list":
                pl = s.port_lists[id]
                if "ranges" in changes:
                    pl.ranges = []
                added = list(changes.get("ranges", [])) + ([changes["add_range"]] if "add_range" in changes else [])
                for t, a, b in added:
                    pl.ranges.append({"id": str(uuid.uuid4()), "type": t, "start": a, "end": b})
            elif kind == "config":
                cfg = s.configs[id]
                cfg.scanner_prefs.update(changes.get("scanner_preferences", {}))
                cfg.nvt_prefs.update(changes.get("nvt_preferences", {}))
                fams = s.families()
                for fam in changes.get("families_off", []):
                    cfg.selected -= {n.oid for n in fams.get(fam, [])}
                for fam in changes.get("families_on", []):
                    cfg.selected |= {n.oid for n in fams.get(fam, [])}
                cfg.selected |= set(changes.get("select", []))
            elif kind == "target":
                tgt = s.targets[id]
                for k, v in changes.items():
                    setattr(tgt, k, v)
            elif kind == "task":
                task = s.tasks[id]
                task.preferences.update(changes.pop("preferences", {}))
                for k, v in changes.items():
                    setattr(task, k, v)
            else:
                raise ValueError(f"unknown kind {kind!r}")

    # -- the client's clock -------------------------------------------------------------------------
    def timed(self, connection: Any) -> Any:
        """`connection` (a python-gvm connection to this fake, not yet connected) with its wait for
        an answer tied to this fake: a read on a connection a "timeout" fault holds silent ends at
        once with the TimeoutError a socket timeout raises; any other read waits up to the
        connection's own timeout, as python-gvm's would (see the module docstring)."""
        def read() -> bytes:
            sock = connection._socket
            if sock is None:
                raise OSError("not connected")
            me = sock.getsockname()[:2]
            limit = time.monotonic() + connection._timeout
            while True:
                with self._lock:
                    silent = me in self._silent
                if silent:
                    raise socket.timeout("timed out")
                pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
                if pending or select.select([sock], [], [], 0.05)[0]:
                    return sock.recv(16 * 1024)
                if time.monotonic() >= limit:
                    raise socket.timeout("timed out")

        connection._read = read
        return connection

    @contextmanager
    def timed_clients(self, gvm_client: Any) -> Iterator["FakeGvmd"]:
        """While active, every GVM client the module `gvm_client` opens (its `open_connection`:
        scanguard_gvm.client, passed in so this package imports no plugin's internals) reaches
        this fake through `timed` connections (connections elsewhere are left as they are)."""
        opened = gvm_client.open_connection

        def open_timed(config: Any) -> Any:
            conn = opened(config)
            if getattr(conn, "hostname", None) == self.host and int(getattr(conn, "port", 0) or 0) == self.port:
                return self.timed(conn)
            return conn

        gvm_client.open_connection = open_timed
        try:
            yield self
        finally:
            gvm_client.open_connection = opened

    def statuses(self, command: str | None = None) -> list[int | str]:
        """The statuses logged, optionally for one command only."""
        with self._lock:
            return [st for cmd, st in self.requests if command is None or cmd == command]

    # -- the socket server -----------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(raw,), name="fake-gvmd-conn", daemon=True)
            t.start()
            with self._lock:
                self._threads.append(t)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self._lock:
            self._conns.add(conn)
        session = {"user": None}
        try:
            conn.settimeout(0.2)
            while not self._stop.is_set():
                root = self._read_command(conn)
                if root is None:
                    break
                if not self._answer(conn, root, session):
                    break
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_command(self, conn: ssl.SSLSocket) -> etree._Element | None:
        def recv() -> bytes | None:
            if self._stop.is_set():
                return b""
            try:
                return conn.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            except (ssl.SSLError, OSError):
                return b""

        return read_element(recv)

    def _fault_for(self, command: str) -> str | None:
        with self._lock:
            self._count += 1
            kind = self._faults_at.pop(self._count, None)
            if kind is None:
                for i, (k, cmd) in enumerate(self._faults_next):
                    if cmd is None or cmd == command:
                        kind = k
                        del self._faults_next[i]
                        break
            return kind

    def _answer(self, conn: ssl.SSLSocket, root: etree._Element, session: dict) -> bool:
        command = root.tag if isinstance(root.tag, str) else "bogus"
        fault = self._fault_for(command)
        if self.latency:
            self._stop.wait(self.latency)
        if fault == "reset":
            with self._lock:
                self.requests.append((command, 0))
            # RST rather than a clean close: what a crashed daemon or a middlebox does
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault == "timeout":
            # a busy gvmd: the command is carried out, its answer never arrives in time
            self._dispatch(command, root, session)
            with self._lock:
                self.requests.append((command, 0))
            self._hold_silent(conn)
            return False
        if not fault and session["user"] is None and command not in ("get_version", "authenticate"):
            with self._lock:
                self.requests.append((command, 400))
            try:
                conn.sendall(f'<gmp_response status="400" status_text="{BEFORE_AUTHENTICATE}"/>'.encode())
            except OSError:
                pass
            return False  # gvmd ends the session
        if fault:
            status, body, text = int(fault), "", FAULT_TEXT[fault]
        else:
            status, text, body = self._dispatch(command, root, session)
        with self._lock:
            self.requests.append((command, status))
        attrs = f' status="{status}" status_text={quoteattr(text)}'
        extra = ""
        if isinstance(body, tuple):  # (extra attributes, body)
            extra, body = body
        xml = f"<{command}_response{attrs}{extra}>{body}</{command}_response>"
        try:
            conn.sendall(xml.encode())
        except OSError:
            return False
        return True

    def _hold_silent(self, conn: ssl.SSLSocket) -> None:
        """Answer nothing until the client leaves, at most `hang_s` seconds (cut short by stop)."""
        peer = conn.getpeername()[:2]
        with self._lock:
            self._silent.add(peer)
        try:
            until = time.monotonic() + self.timeout_sleep
            while not self._stop.is_set() and time.monotonic() < until:
                try:
                    if not conn.recv(65536):
                        return  # the client closed the connection
                except (socket.timeout, TimeoutError):
                    continue
                except (ssl.SSLError, OSError):
                    return
        finally:
            with self._lock:
                self._silent.discard(peer)

    # -- GMP commands ----------------------------------------------------------------------------
    def _dispatch(self, command: str, root: etree._Element, session: dict) -> tuple[int, str, Any]:
        if command == "get_version":
            return 200, "OK", f"<version>{escape(self.version)}</version>"
        if command == "authenticate":
            creds = root.find("credentials")
            user = _text(creds, "username", "") if creds is not None else ""
            password = _text(creds, "password", "") if creds is not None else ""
            if user == self.username and password == self.password:
                session["user"] = user
                return 200, "OK", "<role>Admin</role><timezone>UTC</timezone>"
            return 400, "Authentication failed", ""
        if session["user"] is None:
            return 400, BEFORE_AUTHENTICATE, ""
        handler = getattr(self, "_cmd_" + command, None)
        if handler is None:
            return 400, "Bogus command name", ""
        try:
            with self._lock:
                result = handler(root)
        except GmpError as e:
            return e.status, e.text, ""
        if isinstance(result, tuple) and len(result) == 3:
            return result
        return 200, "OK", result

    def _created(self, new_id: str, body: str = "") -> tuple[int, str, Any]:
        return 201, "OK, resource created", (f' id="{new_id}"', body)

    def _unique(self, objects: dict[str, Any], name: str, what: str) -> None:
        if any(o.name == name for o in objects.values()):
            raise GmpError(400, f"{what} exists already")

    def _get(self, objects: dict[str, Any], oid: str | None, what: str) -> Any:
        if not oid or oid not in objects:
            raise GmpError(404, f"Failed to find {what} '{oid}'")
        return objects[oid]

    def _stamp(self) -> str:
        """An increasing creation time (gvmd's format)."""
        self._created_count += 1
        minutes, seconds = divmod(self._created_count, 60)
        return f"2026-01-01T{minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}Z"

    def _no_feed(self) -> None:
        if not self.state.feed:
            raise GmpError(503, "Service temporarily down")

    # scanners, feeds, formats, reports
    def _cmd_get_scanners(self, root: etree._Element):
        return (f'<scanner id="{CVE_SCANNER}"><name>CVE</name><type>3</type></scanner>'
                f'<scanner id="{OPENVAS_SCANNER}"><name>OpenVAS Default</name>'
                "<host>/run/ospd/ospd-openvas.sock</host><type>2</type></scanner>")

    def _cmd_get_feeds(self, root: etree._Element):
        if self.state.feed:
            return (f"<feed_owner_set>1</feed_owner_set><feed><type>NVT</type><name>scanguard stand-in feed</name>"
                    f"<version>{FEED_VERSION}</version><description/></feed>")
        return ("<feed_owner_set>0</feed_owner_set><feed><type>NVT</type><name/><version/><description/>"
                "<sync_not_available><error>Could not connect to scanner to get feed info</error>"
                "</sync_not_available></feed>")

    def _cmd_get_report_formats(self, root: etree._Element):
        return ""

    def _cmd_get_reports(self, root: etree._Element):
        return "".join(f'<report id="{r}"><report id="{r}"><scan_run_status>Interrupted</scan_run_status></report>'
                       f'<task id="{t.id}"><name>{escape(t.name)}</name></task></report>'
                       for t in self.state.tasks.values() for r in t.reports)

    def _cmd_get_info(self, root: etree._Element):
        if root.get("info_id"):
            raise GmpError(404, f"Failed to find ID '{root.get('info_id')}'")
        return "".join(f'<info id="{n.oid}"><name>{escape(n.name)}</name></info>' for n in self.state.feed)

    def _cmd_get_preferences(self, root: etree._Element):
        return "".join(self._preference_xml(None, name, value, value) for name, value in self._all_preferences())

    # port lists
    def _cmd_create_port_list(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_PORT_LIST requires a NAME")
        self._unique(self.state.port_lists, name, "Port list")
        ranges = parse_port_range(_text(root, "port_range", "") or "")
        pl = PortList(id=str(uuid.uuid4()), name=name, comment=_text(root, "comment", "") or "", ranges=ranges)
        self.state.port_lists[pl.id] = pl
        return self._created(pl.id)

    def _cmd_create_port_range(self, root: etree._Element):
        pl_el = root.find("port_list")
        pl = self._get(self.state.port_lists, pl_el.get("id") if pl_el is not None else None, "port_list")
        if self.state.port_list_in_use(pl.id):
            raise GmpError(400, "Port list is in use")
        kind = (_text(root, "type", "") or "").lower()
        if kind not in ("tcp", "udp"):
            raise GmpError(400, "Port range type must be TCP or UDP")
        try:
            start, end = int(_text(root, "start", "") or ""), int(_text(root, "end", "") or "")
        except ValueError:
            raise GmpError(400, "Port range start and end must be integers") from None
        if not (1 <= start <= end <= 65535):
            raise GmpError(400, "Port range start and end must be between 1 and 65535, start before end")
        rid = str(uuid.uuid4())
        pl.ranges.append({"id": rid, "type": kind, "start": start, "end": end})
        return self._created(rid)

    def _cmd_delete_port_range(self, root: etree._Element):
        rid = root.get("port_range_id")
        for pl in self.state.port_lists.values():
            for r in pl.ranges:
                if r["id"] == rid:
                    pl.ranges.remove(r)  # gvmd lets a range of a port list in use go
                    return ""
        raise GmpError(404, f"Failed to find port_range '{rid}'")

    def _cmd_modify_port_list(self, root: etree._Element):
        pl = self._get(self.state.port_lists, root.get("port_list_id"), "port_list")
        if pl.feed:
            raise GmpError(400, "Permission denied")
        name = _text(root, "name")
        if name and any(o.name == name and o.id != pl.id for o in self.state.port_lists.values()):
            raise GmpError(400, "Port list exists already")
        pl.name = name or ""  # gvmd writes both, blanking what it is not given
        pl.comment = _text(root, "comment", "") or ""
        return ""

    def _cmd_delete_port_list(self, root: etree._Element):
        pl = self._get(self.state.port_lists, root.get("port_list_id"), "port_list")
        if self.state.port_list_in_use(pl.id):
            raise GmpError(400, "Port list is in use")
        del self.state.port_lists[pl.id]
        return ""

    def _port_list_xml(self, pl: PortList) -> str:
        tcp = sum(r["end"] - r["start"] + 1 for r in pl.ranges if r["type"] == "tcp")
        udp = sum(r["end"] - r["start"] + 1 for r in pl.ranges if r["type"] == "udp")
        ranges = "".join(
            f'<port_range id="{r["id"]}"><start>{r["start"]}</start><end>{r["end"]}</end>'
            f'<type>{r["type"]}</type><comment/></port_range>'
            for r in sorted(pl.ranges, key=lambda r: (r["type"], r["start"]))
        )
        in_use = int(self.state.port_list_in_use(pl.id))
        return (f'<port_list id="{pl.id}"><name>{escape(pl.name)}</name><comment>{escape(pl.comment)}</comment>'
                f'<in_use>{in_use}</in_use><port_count><all>{tcp + udp}</all><tcp>{tcp}</tcp><udp>{udp}</udp>'
                f'</port_count><predefined>{int(pl.feed)}</predefined><port_ranges>{ranges}</port_ranges></port_list>')

    def _cmd_get_port_lists(self, root: etree._Element):
        pid = root.get("port_list_id")
        if pid:
            return self._port_list_xml(self._get(self.state.port_lists, pid, "port_list"))
        return "".join(self._port_list_xml(p) for p in sorted(self.state.port_lists.values(), key=lambda p: p.name)
                       if _filter_matches(root.get("filter"), p.name, p.comment))

    # scan configs
    def _cmd_create_config(self, root: etree._Element):
        if root.find("get_configs_response") is not None:
            return self._import_config(root.find("get_configs_response/config"))
        name = _text(root, "name")
        base = self._get(self.state.configs, _text(root, "copy"), "config")
        if not name:
            raise GmpError(400, "CREATE_CONFIG requires a NAME")
        self._unique(self.state.configs, name, "Config")
        cfg = copy.deepcopy(base)
        cfg.id, cfg.name, cfg.feed = str(uuid.uuid4()), name, False
        cfg.comment = _text(root, "comment", "") or ""
        cfg.created_at = self._stamp()
        self.state.configs[cfg.id] = cfg
        return self._created(cfg.id)

    def _import_config(self, el: etree._Element | None):
        if el is None:
            raise GmpError(400, "CREATE_CONFIG requires a GET_CONFIGS_RESPONSE with a CONFIG")
        name = base = _text(el, "name", "") or "Imported config"
        n = 1
        while any(c.name == name for c in self.state.configs.values()):
            n += 1
            name = f"{base} {n}"
        everything = any(_text(s, "type") == "0" and _text(s, "include") == "1"
                         for s in el.findall("nvt_selectors/nvt_selector"))
        families = {n.family for n in self.state.feed}
        cfg = Config(id=str(uuid.uuid4()), name=name,
                     # an imported config without a comment gets a made-up one (gvmd 26 does so)
                     comment=_text(el, "comment") if el.find("comment") is not None else str(uuid.uuid4()),
                     family_growing=everything, growing={f: everything for f in families},
                     selected={n.oid for n in self.state.feed} if everything else set(), created_at=self._stamp())
        self.state.configs[cfg.id] = cfg
        return self._created(cfg.id, f'<config id="{cfg.id}"><name>{escape(name)}</name></config>')

    def _cmd_modify_config(self, root: etree._Element):
        cfg = self._get(self.state.configs, root.get("config_id"), "config")
        if cfg.feed:
            raise GmpError(400, "Permission denied")
        content = [el for el in root if el.tag in ("preference", "family_selection", "nvt_selection")]
        if content and self.state.config_in_use(cfg.id):
            raise GmpError(400, "Config is in use")
        for el in root:
            if el.tag == "name":
                cfg.name = (el.text or "").strip() or cfg.name
            elif el.tag == "comment":
                cfg.comment = (el.text or "").strip()
            elif el.tag == "preference":
                self._set_preference(cfg, el)
            elif el.tag == "family_selection":
                self._set_families(cfg, el)
            elif el.tag == "nvt_selection":
                family = _text(el, "family", "") or ""
                members = {n.oid for n in self.state.families().get(family, [])}
                wanted = {n.get("oid") for n in el.findall("nvt")}
                cfg.selected = (cfg.selected - members) | (wanted & members)
                cfg.growing[family] = False
        return ""

    def _all_preferences(self) -> list[tuple[str, str]]:
        """(name, default) of every preference gvmd knows: NVT preferences as "OID:ID:TYPE:NAME"
        and the scanner's, in name order (gvmd's nvt_preferences table)."""
        prefs = [(f"{n.oid}:{p.id}:{p.type}:{p.name}", p.default) for n in self.state.feed for p in n.prefs]
        if self.state.feed:
            prefs += [(p.id, p.default) for p in SCANNER_PARAMS]
        return sorted(prefs)

    def _set_preference(self, cfg: Config, el: etree._Element) -> None:
        name = _text(el, "name", "") or ""
        raw = _text(el, "value", None)
        try:
            value = base64.b64decode(raw, validate=True).decode() if raw else None
        except (ValueError, UnicodeDecodeError):
            raise GmpError(400, "Value must be base64") from None
        store = cfg.scanner_prefs if el.find("nvt") is None else cfg.nvt_prefs
        if value is None:  # no value: back to the default
            store.pop(name, None)
            return
        parts = name.split(":", 3)
        if len(parts) == 4 and parts[2] == "radio":
            if not value:
                raise GmpError(400, f"Empty radio value for preference {name}")
            old = store.get(name, dict(self._all_preferences()).get(name, ""))
            value = ";".join([value] + [o for o in old.split(";") if o and o != value])
        store[name] = value  # gvmd stores any name; it lists only the ones it knows

    def _set_families(self, cfg: Config, el: etree._Element) -> None:
        cfg.family_growing = (_text(el, "growing", "1") or "0") == "1"
        listed: dict[str, tuple[bool, bool]] = {}
        for fam in el.findall("family"):
            name = _text(fam, "name", "") or ""
            listed[name] = (_text(fam, "all", "0") == "1", _text(fam, "growing", "0") == "1")
        for family, nvts in self.state.families().items():
            members = {n.oid for n in nvts}
            if family not in listed:
                cfg.selected -= members
                cfg.growing[family] = False
                continue
            select_all, growing = listed[family]
            if select_all:
                cfg.selected |= members
            cfg.growing[family] = growing

    def _cmd_delete_config(self, root: etree._Element):
        cfg = self._get(self.state.configs, root.get("config_id"), "config")
        if self.state.config_in_use(cfg.id):
            raise GmpError(400, "Config is in use")
        del self.state.configs[cfg.id]
        return ""

    def _preference_xml(self, oid: str | None, name: str, value: str, default: str) -> str:
        parts = name.split(":", 3)
        if oid is None and len(parts) == 4:
            oid = parts[0]
        if oid and len(parts) == 4:
            nvt_name = next((n.name for n in self.state.feed if n.oid == oid), "")
            pid, kind, short = parts[1], parts[2], parts[3]
            alts = "".join(f"<alt>{escape(a)}</alt>" for a in default.split(";")[1:]) if kind == "radio" else ""
            if kind == "radio":
                value, default = _radio_first(value), _radio_first(default)
            return (f'<preference><nvt oid="{oid}"><name>{escape(nvt_name)}</name></nvt><id>{pid}</id>'
                    f"<hr_name>{escape(short)}</hr_name><name>{escape(short)}</name><type>{kind}</type>"
                    f"<value>{escape(value)}</value><default>{escape(default)}</default>{alts}</preference>")
        return (f'<preference><nvt oid=""><name/></nvt><id/><hr_name>{escape(name)}</hr_name><name>{escape(name)}'
                f"</name><type/><value>{escape(value)}</value><default>{escape(default)}</default></preference>")

    def _config_xml(self, cfg: Config) -> str:
        fams = []
        selected_families = 0
        for family, nvts in self.state.families().items():
            members = {n.oid for n in nvts}
            count = len(members & cfg.selected)
            if count:  # gvmd lists the families with selected NVTs
                selected_families += 1
                fams.append(f"<family><name>{escape(family)}</name><nvt_count>{count}</nvt_count>"
                            f"<max_nvt_count>{len(members)}</max_nvt_count>"
                            f"<growing>{int(cfg.growing.get(family, False))}</growing></family>")
        prefs = []
        for name, default in self._all_preferences():
            store = cfg.nvt_prefs if name.count(":") >= 3 else cfg.scanner_prefs
            prefs.append(self._preference_xml(None, name, store.get(name, default), default))
        tasks = "".join(f'<task id="{t.id}"><name>{escape(t.name)}</name></task>'
                        for t in self.state.tasks.values() if t.config_id == cfg.id)
        return (f'<config id="{cfg.id}"><name>{escape(cfg.name)}</name><comment>{escape(cfg.comment)}</comment>'
                f"<creation_time>{cfg.created_at}</creation_time>"
                f"<writable>{int(not cfg.feed)}</writable><in_use>{int(self.state.config_in_use(cfg.id))}</in_use>"
                f"<family_count>{selected_families}<growing>{int(cfg.family_growing)}</growing></family_count>"
                f"<nvt_count>{len(cfg.selected)}<growing>{int(cfg.family_growing)}</growing></nvt_count>"
                f"<type>0</type><usage_type>scan</usage_type><predefined>0</predefined>"
                f'<families>{"".join(fams)}</families><max_nvt_count>{len(self.state.feed)}</max_nvt_count>'
                f'<preferences>{"".join(prefs)}</preferences><tasks>{tasks}</tasks></config>')

    def _cmd_get_configs(self, root: etree._Element):
        cid = root.get("config_id")
        if cid:
            return self._config_xml(self._get(self.state.configs, cid, "config"))
        return "".join(self._config_xml(c) for c in sorted(self.state.configs.values(), key=lambda c: (c.name, c.id))
                       if _filter_matches(root.get("filter"), c.name, c.comment))

    # NVTs
    def _cmd_get_nvt_families(self, root: etree._Element):
        fams = "".join(f"<family><name>{escape(f)}</name><max_nvt_count>{len(n)}</max_nvt_count></family>"
                       for f, n in self.state.families().items())
        return f"<families>{fams}</families>"

    def _cmd_get_nvts(self, root: etree._Element):
        self._no_feed()
        oid, family = root.get("nvt_oid"), root.get("family")
        cfg = self._get(self.state.configs, root.get("config_id"), "config") if root.get("config_id") else None
        out = []
        for n in self.state.feed:
            if (family and n.family != family) or (oid and n.oid != oid) or (
                    cfg is not None and n.oid not in cfg.selected):
                continue
            prefs = "".join(self._preference_xml(n.oid, f"{n.oid}:{p.id}:{p.type}:{p.name}", p.default, p.default)
                            for p in n.prefs) if oid else ""
            out.append(f'<nvt oid="{n.oid}"><name>{escape(n.name)}</name><family>{escape(n.family)}</family>'
                       f"<category>{n.category}</category><preferences>{prefs}</preferences></nvt>")
        if oid and not out:
            raise GmpError(404, f"Failed to find NVT '{oid}'")
        return "".join(out)

    # targets
    def _alive(self, root: etree._Element) -> str | None:
        el = root.find("alive_tests")
        if el is None:
            return None
        value = (el.text or "").strip() or ", ".join((a.text or "").strip() for a in el)
        if value not in ALIVE_TESTS:
            raise GmpError(400, "Invalid alive test")
        return value

    def _host_count(self, hosts: str, exclude: str) -> int:
        n = count_hosts(hosts, exclude, self.max_ips_per_target)
        if n <= 0:
            raise GmpError(400, "Error in host specification")
        if n > self.max_ips_per_target:
            raise GmpError(400, "Host specification exceeds maximum number of hosts")
        return n

    def _cmd_create_target(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_TARGET requires a NAME")
        pl_el = root.find("port_list")
        port_range = _text(root, "port_range")
        if pl_el is None and not port_range:
            raise GmpError(400, "One of PORT_LIST and PORT_RANGE are required")
        self._unique(self.state.targets, name, "Target")
        hosts = clean_hosts(_text(root, "hosts", "") or "")
        exclude = clean_hosts(_text(root, "exclude_hosts", "") or "")
        count = self._host_count(hosts, exclude)
        alive = self._alive(root)
        if pl_el is not None:
            pl_id = self._get(self.state.port_lists, pl_el.get("id"), "port_list").id
        else:
            pl = PortList(id=str(uuid.uuid4()), name=name, comment=f"Autogenerated for target {name}.",
                          ranges=parse_port_range(port_range or ""))
            self.state.port_lists[pl.id] = pl
            pl_id = pl.id
        tgt = Target(id=str(uuid.uuid4()), name=name, hosts=hosts, port_list_id=pl_id, max_hosts=count,
                     comment=_text(root, "comment", "") or "", exclude_hosts=exclude,
                     alive_tests=alive or "Scan Config Default")
        self.state.targets[tgt.id] = tgt
        return self._created(tgt.id)

    def _cmd_modify_target(self, root: etree._Element):
        tgt = self._get(self.state.targets, root.get("target_id"), "target")
        if any(el.tag in TARGET_LOCKED for el in root) and self.state.target_in_use(tgt.id):
            raise GmpError(400, "Target is in use")
        hosts = clean_hosts(_text(root, "hosts", tgt.hosts) or "")
        exclude = clean_hosts(_text(root, "exclude_hosts", tgt.exclude_hosts) or "")
        if (hosts, exclude) != (tgt.hosts, tgt.exclude_hosts):
            tgt.max_hosts = self._host_count(hosts, exclude)
            tgt.hosts, tgt.exclude_hosts = hosts, exclude
        for el in root:
            if el.tag in ("name", "comment"):
                setattr(tgt, el.tag, (el.text or "").strip())
            elif el.tag == "port_list":
                tgt.port_list_id = self._get(self.state.port_lists, el.get("id"), "port_list").id
            elif el.tag == "alive_tests":
                tgt.alive_tests = self._alive(root) or tgt.alive_tests
            elif el.tag in ("allow_simultaneous_ips", "reverse_lookup_only", "reverse_lookup_unify"):
                setattr(tgt, el.tag, (el.text or "0").strip())
        return ""

    def _cmd_delete_target(self, root: etree._Element):
        tgt = self._get(self.state.targets, root.get("target_id"), "target")
        if self.state.target_in_use(tgt.id):
            raise GmpError(400, "Target is in use")
        del self.state.targets[tgt.id]
        return ""

    def _target_xml(self, t: Target) -> str:
        pl = self.state.port_lists.get(t.port_list_id)
        methods = sorted(m.strip() + ("" if m.strip().endswith(("Ping", "Alive", "Default")) else " Ping")
                         for m in re.split(r", | & ", t.alive_tests))
        subs = "".join(f"<alive_test>{escape(m)}</alive_test>" for m in methods)
        return (f'<target id="{t.id}"><name>{escape(t.name)}</name><comment>{escape(t.comment)}</comment>'
                f'<in_use>{int(self.state.target_in_use(t.id))}</in_use><hosts>{escape(t.hosts)}</hosts>'
                f"<exclude_hosts>{escape(t.exclude_hosts)}</exclude_hosts><max_hosts>{t.max_hosts}</max_hosts>"
                f'<port_list id="{t.port_list_id}"><name>{escape(pl.name if pl else "")}</name><trash>0</trash>'
                f"</port_list><reverse_lookup_only>{t.reverse_lookup_only}</reverse_lookup_only>"
                f"<reverse_lookup_unify>{t.reverse_lookup_unify}</reverse_lookup_unify>"
                f"<allow_simultaneous_ips>{t.allow_simultaneous_ips}</allow_simultaneous_ips>"
                f"<alive_tests>{escape(t.alive_tests)}{subs}</alive_tests></target>")

    def _cmd_get_targets(self, root: etree._Element):
        tid = root.get("target_id")
        if tid:
            return self._target_xml(self._get(self.state.targets, tid, "target"))
        return "".join(self._target_xml(t) for t in sorted(self.state.targets.values(), key=lambda t: t.name)
                       if _filter_matches(root.get("filter"), t.name, t.comment))

    # tasks
    def _task_prefs(self, root: etree._Element) -> dict[str, str]:
        out = {}
        prefs = root.find("preferences")
        for p in prefs.findall("preference") if prefs is not None else []:
            out[_text(p, "scanner_name", "") or ""] = _text(p, "value", "") or ""
        return out

    def _cmd_create_task(self, root: etree._Element):
        name = _text(root, "name")
        if not name:
            raise GmpError(400, "CREATE_TASK requires a NAME")
        if root.find("target") is not None and root.find("target").get("id") == "0":
            return self._container_task(root)  # a container task: target "0", no config or scanner
        ids = {}
        for tag, objects in (("config", self.state.configs), ("target", self.state.targets)):
            el = root.find(tag)
            ids[tag] = self._get(objects, el.get("id") if el is not None else None, tag).id
        scanner = root.find("scanner")
        if scanner is None or scanner.get("id") not in (OPENVAS_SCANNER, CVE_SCANNER):
            raise GmpError(404, f"Failed to find scanner '{scanner.get('id') if scanner is not None else ''}'")
        task = Task(id=str(uuid.uuid4()), name=name, config_id=ids["config"], target_id=ids["target"],
                    scanner_id=scanner.get("id"), comment=_text(root, "comment", "") or "",
                    alterable=_text(root, "alterable", "0") == "1")
        task.preferences.update(self._task_prefs(root))
        self.state.tasks[task.id] = task
        return self._created(task.id)

    def _container_task(self, root: etree._Element):
        task = Task(id=str(uuid.uuid4()), name=_text(root, "name", "") or "", config_id=None, target_id=None,
                    scanner_id=None, comment=_text(root, "comment", "") or "")
        self.state.tasks[task.id] = task
        return self._created(task.id)

    def _cmd_modify_task(self, root: etree._Element):
        # gvmd (manage_sql.c modify_task): the config is looked up first, then the fields are set
        # one after the other; a refusal stops there and leaves what was already set
        task = self._get(self.state.tasks, root.get("task_id"), "task")
        config_el, target_el = root.find("config"), root.find("target")
        if config_el is not None:
            self._get(self.state.configs, config_el.get("id"), "config")
        frozen = task.status != "New" and not task.alterable
        for tag in ("name", "comment"):
            if root.find(tag) is not None:
                setattr(task, tag, _text(root, tag, "") or "")
        if config_el is not None:
            if frozen:
                raise GmpError(400, "Status must be New to edit config")
            if not self.ignore_task_repoints:
                task.config_id = config_el.get("id")
        alterable = _text(root, "alterable")
        if alterable is not None and (alterable == "1") != task.alterable:
            if task.status != "New":
                raise GmpError(400, "Task must be New to modify Alterable state")
            task.alterable = alterable == "1"
        if target_el is not None:
            if frozen:
                raise GmpError(400, "Status must be New to edit Target")
            target_id = self._get(self.state.targets, target_el.get("id"), "target").id
            if not self.ignore_task_repoints:
                task.target_id = target_id
        if root.find("preferences") is not None:
            task.preferences.update(self._task_prefs(root))
        return ""

    def _cmd_start_task(self, root: etree._Element):
        task = self._get(self.state.tasks, root.get("task_id"), "task")
        # no scanner runs: gvmd cannot reach the OpenVAS Default socket and interrupts the task
        task.status = "Interrupted"
        report = str(uuid.uuid4())
        task.reports.append(report)
        return 202, "OK, request submitted", f"<report_id>{report}</report_id>"

    def _cmd_delete_task(self, root: etree._Element):
        task = self._get(self.state.tasks, root.get("task_id"), "task")
        del self.state.tasks[task.id]
        return ""

    def _task_xml(self, t: Task) -> str:
        cfg = self.state.configs.get(t.config_id or "")
        tgt = self.state.targets.get(t.target_id or "")
        prefs = "".join(f"<preference><name>{escape(TASK_PREF_TITLES.get(k, k))}</name><scanner_name>{escape(k)}"
                        f"</scanner_name><value>{escape(v)}</value></preference>"
                        for k, v in t.preferences.items())
        return (f'<task id="{t.id}"><name>{escape(t.name)}</name><comment>{escape(t.comment)}</comment>'
                f"<alterable>{int(t.alterable)}</alterable>"
                f'<config id="{t.config_id or ""}"><name>{escape(cfg.name if cfg else "")}</name></config>'
                f'<target id="{t.target_id or ""}"><name>{escape(tgt.name if tgt else "")}</name></target>'
                f'<scanner id="{t.scanner_id or ""}"><name>OpenVAS Default</name></scanner>'
                f"<status>{t.status}</status><report_count>{len(t.reports)}</report_count>"
                f"<preferences>{prefs}</preferences></task>")

    def _cmd_get_tasks(self, root: etree._Element):
        tid = root.get("task_id")
        if tid:
            return self._task_xml(self._get(self.state.tasks, tid, "task"))
        return "".join(self._task_xml(t) for t in sorted(self.state.tasks.values(), key=lambda t: t.name)
                       if _filter_matches(root.get("filter"), t.name, t.comment))
