"""A trial run as root leaves no packet outside loopback. Each test builds a network namespace
with a second interface (one end of a veth pair, the "uplink", holding the default route, where
anything not for loopback would go: a name lookup to the resolver, a probe to a wrong address),
runs a whole trial in it, and reads the uplink's packet counter before and after."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import needs_nmap

pytestmark = [*needs_nmap, pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
    reason="needs root, unshare and ip (iproute2) to build a network namespace")]

DEVICE = """id: lab-box
name: Lab box
evidence: [INC-TEST-3]
services:
  - {port: 4100, name: api, closes: at-once}
heartbeat: 24100
recovery: {mode: reboot, delay_s: 0.3}
"""
RESOLVER = "10.255.255.53"


def run_in_namespace(tmp_path: Path, trial_args: list[str]) -> dict:
    """Run `scanguard trial ...` in a fresh namespace with loopback and an uplink holding the
    default route; the trial's exit code and output, and the counters of both interfaces."""
    scanguard = [sys.executable, "-m", "scanguard"]
    control = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ({RESOLVER!r}, 53))"
    script = f"""
set -e
# no IPv6 on the uplink: its router solicitations would count as traffic nobody sent
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
ip link set lo up
ip link add uplink0 type veth peer name uplink1
ip addr add 10.99.0.1/24 dev uplink0
ip link set uplink1 up
ip link set uplink0 up
ip route add default via 10.99.0.254
sleep 1
# this namespace's counters (/sys/class/net shows the namespace sysfs was mounted in)
tx() {{ awk -v dev="$1:" '$1 == dev {{ print $11 }}' /proc/net/dev; }}
echo "$(tx uplink0) $(tx lo)" > {tmp_path}/before
rc=0; {shlex.join(scanguard + trial_args)} > {tmp_path}/stdout 2> {tmp_path}/stderr || rc=$?
echo $rc > {tmp_path}/rc
echo "$(tx uplink0) $(tx lo)" > {tmp_path}/after
{shlex.join([sys.executable, "-c", control])}
tx uplink0 > {tmp_path}/control
"""
    subprocess.run(["unshare", "-n", "--", "bash", "-c", script], check=True, timeout=900)
    read = lambda name: (tmp_path / name).read_text().split()  # noqa: E731
    return {"rc": int(read("rc")[0]), "stdout": (tmp_path / "stdout").read_text(),
            "stderr": (tmp_path / "stderr").read_text(), "before": list(map(int, read("before"))),
            "after": list(map(int, read("after"))), "control": int(read("control")[0])}


@pytest.mark.parametrize("isolation", ["--no-isolate", "--isolate"])
def test_a_trial_run_as_root_leaves_no_packet_outside_loopback(lab, tmp_path, isolation):
    root = lab("lab-box", "127.0.0.231")
    (tmp_path / "lab-box.yaml").write_text(DEVICE)
    # every stage, the safe checks included (a port that hangs up at once keeps them to seconds,
    # and host scripts such as the name-lookup ones run whatever the port)
    got = run_in_namespace(tmp_path, ["trial", "--profile", "lab-box", "--target", "127.0.0.231", "--testbed",
                                      str(tmp_path / "lab-box.yaml"), "--interval", "0.1", "--vuln-timeout", "60",
                                      isolation, "--json", "--workspace", str(root)])

    assert got["rc"] == 0, got["stderr"]
    trial = json.loads(got["stdout"])["trial"]
    assert trial["outcome"] == "survived"
    assert {s["name"] for s in trial["stages"] if s["status"] == "passed"} >= {"service", "vulnerability", "speed"}
    uplink_before, lo_before = got["before"]
    uplink_after, lo_after = got["after"]
    assert uplink_after == uplink_before  # nothing left through the uplink
    assert got["control"] > uplink_after  # ...which would have counted a packet that did
    if isolation == "--isolate":
        assert "network namespace of its own" in trial["isolation"]
        assert lo_after == lo_before  # even loopback here saw nothing: the trial had a namespace of its own
    else:
        assert trial["isolation"] == ""
        assert lo_after > lo_before + 100  # the trial's traffic went over loopback
