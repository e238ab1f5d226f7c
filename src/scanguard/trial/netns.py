"""Run a test-bed trial in a network namespace of its own, with only loopback: the virtual
device, the health monitor and the scanner all live there, so nothing a scan does (a script that
looks a name up, a probe to a wrong address) can leave the machine.

Linux only, and only as root (``unshare(CLONE_NEWNET)`` needs CAP_SYS_ADMIN). The namespace is
entered by a child process (``python -m scanguard.trial.netns JOB RESULT``) before it starts any
thread: a process's threads do not follow a namespace change made by another, and the caller
(the CLI, or a test process with servers of its own) must stay where it is. The child reads the
job (a :class:`IsolatedTrial`), runs the trial and writes the :class:`TrialResult` back; progress
goes to its stderr, which it shares with the caller.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import ScanguardError
from ..model.base import Model
from .records import TrialResult
from .runner import TrialOptions

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
ISOLATION = "a network namespace of its own with only loopback (test bed, monitor and scanner inside)"


class IsolatedTrial(Model):
    """What the child needs to run a test-bed trial on its own."""

    workspace: Path
    profile: str
    target: str
    vendor: str
    personality: dict
    """The test bed's personality (as validated YAML data, recovery overrides applied)."""
    options: TrialOptions
    out_dir: Path


def why_not_isolated() -> str | None:
    """Why a trial cannot run in a namespace of its own here (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are a Linux feature"
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    if ctypes.util.find_library("c") is None:
        return "the C library (for unshare) was not found"
    # root is not always enough (a container may forbid it): try it where it costs nothing
    probe = ("import ctypes, ctypes.util, sys; "
             f"sys.exit(ctypes.CDLL(ctypes.util.find_library('c')).unshare({CLONE_NEWNET}) != 0)")
    if subprocess.call([sys.executable, "-c", probe], stderr=subprocess.DEVNULL) != 0:
        return "this system refuses to create a network namespace (unshare)"
    return None


def enter_private_netns() -> None:
    """Move the calling thread (call it before any other thread starts) into a new network
    namespace and bring its loopback interface up. Raises OSError when the kernel refuses."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0)))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def run_isolated(job: IsolatedTrial) -> TrialResult:
    """Run `job` in a child process inside a network namespace of its own; its TrialResult.
    Raises the child's ScanguardError (same message and exit code) when the trial failed."""
    with tempfile.TemporaryDirectory(prefix="scanguard-trial-") as tmp:
        job_path, result_path = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_path.write_text(job.model_dump_json(), encoding="utf-8")
        rc = subprocess.call([sys.executable, "-m", "scanguard.trial.netns", str(job_path), str(result_path)])
        if not result_path.exists():
            raise ScanguardError(f"the isolated trial ended with exit code {rc} and no result")
        doc = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in doc:
        err = ScanguardError(doc["error"])
        err.exit_code = int(doc.get("exit_code", 1))
        raise err
    return TrialResult.model_validate(doc["result"])


def _child(job_path: Path, result_path: Path) -> int:
    job = IsolatedTrial.model_validate_json(job_path.read_text(encoding="utf-8"))
    try:
        enter_private_netns()
        result = _run(job)
    except ScanguardError as e:
        result_path.write_text(json.dumps({"error": str(e), "exit_code": e.exit_code}), encoding="utf-8")
        return e.exit_code
    except OSError as e:
        result_path.write_text(json.dumps({"error": f"cannot isolate the trial: {e}", "exit_code": 1}),
                               encoding="utf-8")
        return 1
    result_path.write_text(json.dumps({"result": json.loads(result.model_dump_json())}), encoding="utf-8")
    return 0


def _run(job: IsolatedTrial) -> TrialResult:
    from ..cli.output import info, safe
    from ..correlate import check_kind_of
    from ..plugin.manager import load_plugins
    from ..testbed import Personality, run_device
    from ..workspace import load_workspace
    from .runner import run_trial

    ws = load_workspace(job.workspace)
    prof = next(p for p in ws.profiles if p.id == job.profile)
    pm = load_plugins()
    vendor = pm.vendor(job.vendor)
    kinds = {name: check_kind_of(rec) for name, rec in pm.vendors().items()}
    personality = Personality.model_validate(job.personality)
    try:
        dev_ctx = run_device(personality, job.target)
        dev = dev_ctx.__enter__()
    except OSError as e:
        raise ScanguardError(f"cannot start {personality.id} on {job.target}: {e}") from None
    try:
        info(f"test bed: {safe(personality.name)} up on {dev.address}, in {ISOLATION}")
        return run_trial(prof, job.target, vendor, out_dir=job.out_dir, options=job.options, reset=dev.reset,
                         progress=info, plugins=pm, workspace=ws, check_kinds=kinds,
                         ground_truth=lambda: [e.text() for e in dev.truth()])
    finally:
        dev_ctx.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1]), Path(sys.argv[2])))
