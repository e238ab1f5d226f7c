"""Running real nmap: only loopback targets, always -n, stopped when the device goes down."""

from __future__ import annotations

import shutil
import socket
import threading

import pytest

from scanguard import UsageError
from scanguard.correlate import correlate
from scanguard.health import HealthMonitor
from scanguard_nmap.run import build_argv, run_scan

KILLER = 7100
HEARTBEAT = 7001


def test_a_target_outside_loopback_is_refused(tmp_path):
    with pytest.raises(UsageError, match="only loopback"):
        build_argv(["nmap", "-sT"], ["10.30.8.21"], tmp_path / "x.xml")


def test_a_host_name_is_refused(tmp_path):
    with pytest.raises(UsageError):
        build_argv(["nmap", "-sT"], ["localhost"], tmp_path / "x.xml")


def test_the_argument_vector_never_resolves_names_and_leaves_out_broadcast_scripts(tmp_path):
    argv = build_argv(["nmap", "-sT", "--script", "safe"], ["127.0.0.23"], tmp_path / "x.xml")

    assert "-n" in argv and "--packet-trace" in argv and argv[-1] == "127.0.0.23"
    # one "not (a or b ...)": nmap's time to read a rule grows exponentially with its "and"s
    assert argv[argv.index("--script") + 1] == ("(safe) and not (broadcast or external or dns-client-subnet-scan or "
                                                 "dns-srv-enum or fcrdns or ftp-bounce or ip-forwarding or resolveall)")


def test_scripts_that_look_names_up_are_left_out_even_where_other_networks_are_allowed(tmp_path):
    argv = build_argv(["nmap", "-sT", "--script", "safe"], ["10.0.0.5"], tmp_path / "x.xml", allow_non_loopback=True)

    expr = argv[argv.index("--script") + 1]
    assert expr == "(safe) and not (dns-client-subnet-scan or dns-srv-enum or fcrdns or ftp-bounce or ip-forwarding or resolveall)"


@pytest.mark.nmap
def test_nmap_selects_no_name_lookup_script_from_the_safe_set(tmp_path):
    # nmap itself resolves the expression: none of the scripts it would load looks names up
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    import subprocess

    argv = build_argv(["nmap", "-sT", "--script", "safe"], ["127.0.0.23"], tmp_path / "x.xml")
    expr = argv[argv.index("--script") + 1]
    lines = subprocess.run(["nmap", "--script-help", expr], capture_output=True, text=True,
                           timeout=120).stdout.splitlines()
    names = {name for name, nxt in zip(lines, lines[1:]) if nxt.startswith("Categories:")}
    assert "fcrdns" not in names and "resolveall" not in names
    assert "banner" in names  # the expression still selects the safe scripts


class FragileDevice:
    """A loopback device with a heartbeat port that dies (closes every port) on the first
    connection to its killer port."""

    def __init__(self, host: str):
        self.host = host
        self.dead = threading.Event()
        self.listeners = []
        for port in (HEARTBEAT, KILLER):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
            s.listen(16)
            self.listeners.append(s)
            threading.Thread(target=self._serve, args=(s, port), daemon=True).start()

    def _serve(self, s: socket.socket, port: int) -> None:
        while not self.dead.is_set():
            try:
                conn, _ = s.accept()
            except OSError:
                return
            conn.close()
            if port == KILLER:
                self.die()

    def die(self) -> None:
        self.dead.set()
        for s in self.listeners:
            s.close()


@pytest.mark.nmap
def test_a_real_scan_is_stopped_when_the_device_dies_and_its_log_names_the_port(tmp_path):
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    device = FragileDevice("127.0.0.77")
    # -r: ports in order, so the killer comes halfway and the rest is left when it dies; 150 ms between
    # probes leaves the 50 ms heartbeat time to see the death before many more probes go out (a loaded CI)
    argv = ["nmap", "-sT", "-Pn", "-r", "-p", f"{HEARTBEAT},7050-7150", "--scan-delay", "150ms", "--max-retries", "0"]
    try:
        with HealthMonitor(device.host, HEARTBEAT, interval_s=0.05) as monitor:
            run = run_scan(argv, [device.host], out_dir=tmp_path, stop_when=lambda: monitor.current() == "down")
            timeline = monitor.timeline()
    finally:
        device.die()

    assert run.stopped_early and run.stop_reason == "stop_when"
    assert f"{device.host}:{KILLER}" in run.activity_log.read_text()
    scanned = {e.port for e in run.activity if e.kind == "probe"}
    assert KILLER in scanned and 7150 not in scanned  # stopped before the end of the range
    report = correlate([run.model_copy(update={"health": timeline})])  # the scan's own record, watched
    # the probe right after the killer can beat the heartbeat to it: the killer is at the failure
    # with at most one neighbour (a rerun in another order confirms which; see test_correlator)
    top_two = {s.port for s in report.observations[0].suspects[:2]}
    assert KILLER in top_two


# -- replaying one probe, script or connect alone ------------------------------------------------------
TEMPLATE = ["nmap", "-n", "-sT", "-p", "T:8081", "-Pn", "--max-rate", "20", "--scan-delay", "100ms", "-sV",
            "--script", "safe and not dos"]


def test_a_version_probe_is_replayed_alone_with_a_data_directory_holding_only_it(tmp_path):
    from scanguard import Suspect
    from scanguard_nmap.run import replay_argv

    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    argv = replay_argv(TEMPLATE, Suspect(host="127.0.0.23", port=8081, protocol="tcp", probe="GetRequest"), tmp_path)

    assert "--script" not in argv and argv[argv.index("-p") + 1] == "T:8081"
    assert ["-sV", "--version-all", "--datadir"] == argv[-4:-1]
    assert "--max-rate" in argv and "--scan-delay" in argv  # the template's pace is kept
    datadir = tmp_path / "replay-data"
    probes = (datadir / "nmap-service-probes").read_text(encoding="latin-1")
    assert [line for line in probes.splitlines() if line.startswith("Probe ")] == [
        "Probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|"]
    assert (datadir / "scripts" / "script.db").read_text() == ""  # so no version script follows the probe


def test_a_script_is_replayed_alone_within_the_templates_expression(tmp_path):
    from scanguard import Suspect
    from scanguard_nmap.run import replay_argv

    argv = replay_argv(TEMPLATE, Suspect(host="127.0.0.23", port=8081, check_id="http-title"), tmp_path)

    assert argv[argv.index("--script") + 1] == "+(safe and not dos) and http-title"
    assert "-sV" not in argv


def test_a_bare_port_is_replayed_as_one_connect_and_a_script_needs_a_template_that_runs_scripts(tmp_path):
    from scanguard import Suspect
    from scanguard_nmap.run import replay_argv

    argv = replay_argv(TEMPLATE, Suspect(host="127.0.0.23", port=8081), tmp_path)
    assert "-sV" not in argv and "--script" not in argv and argv[argv.index("-p") + 1] == "T:8081"
    with pytest.raises(UsageError, match="runs no scripts"):
        replay_argv(["nmap", "-sT", "-p", "8081"], Suspect(host="127.0.0.23", port=8081, check_id="banner"), tmp_path)


def test_a_probes_payload_is_decoded_from_nmaps_own_file():
    from scanguard_nmap.run import probe_payload

    text = 'Probe TCP NULL q||\nProbe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|\nrarity 1\n' \
           'Probe TCP Odd q|\\x16\\x03\\0\\\\x|\n'
    assert probe_payload(text, "tcp", "GetRequest") == b"GET / HTTP/1.0\r\n\r\n"
    assert probe_payload(text, "tcp", "Odd") == b"\x16\x03\x00\\x"
    assert probe_payload(text, "tcp", "NULL") == b""
    with pytest.raises(UsageError, match="no tcp version-detection probe 'Nope'"):
        probe_payload(text, "tcp", "Nope")


@pytest.mark.nmap
def test_real_nmap_replays_exactly_one_probe_and_nothing_else(tmp_path):
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (apt-get install nmap)")
    from scanguard import Suspect
    from scanguard.testbed import Personality, run_device

    p = Personality.model_validate({"id": "quiet", "name": "quiet", "evidence": ["t"], "services": [{"port": 8081}],
                                    "recovery": {"mode": "reset"}})
    with run_device(p, "127.0.0.78") as dev:
        run = run_scan(TEMPLATE, [dev.address], out_dir=tmp_path, timeout_s=60,
                       replay=Suspect(host=dev.address, port=8081, probe="HTTPOptions"))
        received = dev.status().probes

    sent = [(e.kind, e.port, e.probe) for e in run.activity if e.probe or e.check_id]
    assert sent == [("probe", 8081, "HTTPOptions")]  # no NULL probe, no other probe, no script
    assert received == 2  # the port scan's connect and the probe's connection
