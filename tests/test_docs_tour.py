"""The README's tour of sync runs as written: its commands, extracted from the README, run one by
one in one shell against the fake scanners, in a copy of the example workspace, inside a network
namespace of the test's own (only loopback), each with the exit code the README gives it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Watch sync work"


def tour_commands() -> list[tuple[str, int]]:
    """(command, expected exit code) for every command of the README's sync tour: the code is the
    "exit N" its comment names, else 0."""
    text = (REPO / "README.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    out = []
    for line in block.splitlines():
        command = line.split("  #", 1)[0].strip()
        if not command or command.startswith("#"):
            continue
        m = re.search(r"#.*\bexit (\d)", line)
        out.append((command, int(m.group(1)) if m else 0))
    return out


def isolated() -> list[str]:
    """A prefix that runs a command in a network namespace of its own with loopback up (root with
    unshare and ip), else nothing (the fakes then listen on this machine's loopback)."""
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        return ["unshare", "-n", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "tour"]
    return []


def test_the_tour_has_the_steps_the_newcomer_needs():
    commands = " ; ".join(c for c, _ in tour_commands())
    for step in ("testbed scanner start", "scanguard diff", "scanguard sync", "testbed scanner edit",
                 "scanguard history", "testbed scanner stop"):
        assert step in commands, step
    codes = [code for c, code in tour_commands() if c.startswith(("scanguard diff", "scanguard sync"))]
    assert 3 in codes, "the tour shows drift found (exit 3) after the console edit"


CLEARED = ("SCANGUARD_", "REQUESTS_CA", "SSL_CERT", "NESSUS_", "GVM_", "INSIGHTVM_")
"""Nothing of the caller's environment may stand in for what the tour itself sets."""


def test_the_readme_sync_tour_runs_as_written(tmp_path, example_workspace):
    work = tmp_path / "examples" / "hospital"
    shutil.copytree(example_workspace, work, ignore=shutil.ignore_patterns(".scanguard", "out"))
    steps = tour_commands()
    # the fakes are stopped whatever happens, so a failed step leaves no server behind
    script = ["cd " + shlex.quote(str(work)), "trap 'scanguard testbed scanner stop >/dev/null 2>&1' EXIT"]
    for i, (command, _) in enumerate(steps):
        script.append(f"{command}\necho \"@@step {i} $?\" >&2")
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    r = subprocess.run([*isolated(), "bash", "-c", "\n".join(script)], capture_output=True, text=True, env=env,
                       timeout=600)
    codes = dict(map(int, m.groups()) for m in re.finditer(r"@@step (\d+) (\d+)", r.stderr))
    for i, (command, expected) in enumerate(steps):
        assert codes.get(i) == expected, f"`{command}` exited {codes.get(i)}, the README says {expected}:\n{r.stderr}"
    assert "DRIFT" in r.stdout, "diff shows the console edit as drift"

    # history recorded it: the edited template's drift, restored, and the push that restored it
    history = json.loads(subprocess.run([sys.executable, "-m", "scanguard", "history", "--json"], cwd=work, env=env,
                                        capture_output=True, text=True, check=True).stdout)
    drift = [d for d in history["drift"] if (d["scanner"], d["object_name"]) == ("nessus-main", "full-audit")]
    assert drift and all(d["restored"] for d in drift) and any("safe checks off" in w for w in drift[0]["weaker"])
    assert any(p["action"] == "restore" and p["verified"] for p in history["pushes"]
               if (p["scanner"], p["object_name"]) == ("nessus-main", "full-audit"))
    assert {r["status"] for r in history["runs"]} >= {"ok", "drift_restored"}
