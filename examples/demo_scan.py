"""One watched nmap scan for the demo: run nmap (a raw argument vector, or a compiled template
of the workspace narrowed further to a port list) against one loopback device while a health
monitor watches its heartbeat; write the activity log and the health timeline (CSV) for
`scanguard correlate`, then wait for the device to come back.

    python examples/demo_scan.py --target 127.0.0.61 --heartbeat 443 --out DIR --argv "-sT -p 1-1024,7100"
    python examples/demo_scan.py --target 127.0.0.61 --heartbeat 443 --out DIR \
        --workspace WS --template full-audit@payment-terminals --only-ports 1-1024,7000-7200
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from scanguard import PortSet, compile_plan, load_workspace
from scanguard.health import HealthMonitor, write_csv
from scanguard.plugin.manager import load_plugins
from scanguard_nmap.run import run_scan


def main() -> int:
    """Run the scan; exit 0 when the device stayed up, 3 when it went down."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--heartbeat", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--argv", help="nmap options (without targets)")
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--template", help="a compiled template of the workspace")
    ap.add_argument("--only-ports", help="narrow the template to these TCP ports and drop its checks (faster, "
                                         "never less safe)")
    a = ap.parse_args()
    if a.argv:
        template = shlex.split(a.argv)
    else:
        ws = load_workspace(a.workspace)
        ct = compile_plan(ws, load_plugins()).get(a.template)
        if ct is None:
            sys.exit(f"no compiled template {a.template}")
        if a.only_ports:
            t = ct.template
            t = t.model_copy(update={"ports": PortSet(t.ports.tcp) & PortSet.parse(a.only_ports),
                                     "checks": t.checks.model_copy(update={"enabled": False})})
            ct = ct.model_copy(update={"template": t})
        template = ct
    mon = HealthMonitor(a.target, a.heartbeat, interval_s=0.1).start()
    try:
        mon.wait_for("up", 5)
        run = run_scan(template, [a.target], out_dir=a.out, stop_when=lambda: mon.current() == "down")
        time.sleep(0.5)  # a death the last packets caused
        went_down = any(e.state == "down" for e in mon.timeline())
        if went_down:
            mon.wait_for("up", 30)
            time.sleep(0.3)
    finally:
        timeline = mon.stop()
    write_csv(timeline, a.out / "health.csv")
    print("  nmap " + shlex.join(run.argv[1:]))
    print(f"  {len(run.activity)} activity events; device {'WENT DOWN' if went_down else 'stayed up'}"
          f"{' (scan stopped early)' if run.stopped_early else ''}")
    print(f"  activity log {run.activity_log}; health {a.out / 'health.csv'}")
    return 3 if went_down else 0


if __name__ == "__main__":
    sys.exit(main())
