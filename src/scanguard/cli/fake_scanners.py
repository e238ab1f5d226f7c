"""`scanguard testbed scanner start|edit|stop`: fake scanners on loopback, to watch sync work
without the product (see scanguard.testbed.scanners).

    eval "$(scanguard testbed scanner start nessus --detach)"   # serve, and set what a shell needs
    scanguard sync
    scanguard testbed scanner edit nessus-main full-audit       # a console edit: drift
    eval "$(scanguard testbed scanner stop)"                    # stop, and unset it again
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..testbed.scanners import CONTROL_ENV, Session, bindings, start
from .common import DEFAULT_WS, JsonOpt, WorkspaceOpt, plugins, run_guarded, workspace
from .output import EXIT_FAILURE, EXIT_INVALID, emit_json, fail, info, safe

READY_WAIT_S = 60.0
"""How long `start --detach` waits for the fakes to listen."""

scanner_app = typer.Typer(help="Fake scanners (Nessus, Tenable VM, Security Center, GVM, InsightVM) on loopback, "
                               "to watch diff and sync work without the product.", no_args_is_help=True, rich_markup_mode=None)


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items()))


@scanner_app.command("start")
def start_command(
    vendors: Annotated[list[str], typer.Argument(help="The vendors to fake: nessus, tenableio, tenablesc, gvm, "
                                                 "insightvm (see `scanguard plugins`).")],
    detach: Annotated[bool, typer.Option("--detach", help="Serve in the background and return once they listen; "
                                         "stop them with `scanguard testbed scanner stop`.")] = False,
    ready_file: Annotated[Optional[Path], typer.Option("--ready-file", hidden=True,
                                                       help="Write the variables here once serving.")] = None,
    workspace_: WorkspaceOpt = DEFAULT_WS,
    json_: JsonOpt = False,
) -> None:
    """Serve a fake of each vendor where the workspace's scanguard.toml says its scanners are
    (loopback addresses only; without a workspace, on 127.0.0.1 at the product's usual port),
    and print the variables to set: the credentials under the names scanguard.toml gives, the
    CA that signed the fakes' certificates, the control interface. In the foreground until
    Ctrl-C; with --detach, in the background (`eval "$(... --detach)"` sets the variables)."""
    ws = workspace(workspace_, quiet=True) if (workspace_ / "scanguard.toml").exists() else None
    fakes = plugins().fake_scanners()
    plan = run_guarded(bindings, list(dict.fromkeys(vendors)), fakes, ws)
    if detach:
        _detach(vendors, workspace_, json_)
        return
    session: Session = run_guarded(start, plan, fakes)
    try:
        env = session.env()
        for b, running in session.started:
            info(f"fake {safe(b.vendor)} for scanner {safe(b.scanner)} at {safe(running.url)}")
        if ready_file is not None:
            ready_file.write_text(json.dumps({"scanners": session.status()["scanners"], "env": env}))
        if json_:
            emit_json({"command": "testbed scanner start", "scanners": session.status()["scanners"], "env": env})
        else:
            sys.stdout.write(_exports(env))
            sys.stdout.flush()
        info("serving; Ctrl-C (or `scanguard testbed scanner stop`) stops them")
        signal.signal(signal.SIGTERM, lambda *_: session.stopped.set())
        while not session.stopped.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
        info("fake scanners stopped")


def _detach(vendors: list[str], workspace_: Path, json_: bool) -> None:
    """Start the fakes in a process of their own, wait until they listen, print the variables."""
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    ready = folder / f"scanguard-fake-scanners-{os.getpid()}.json"
    log = folder / f"scanguard-fake-scanners-{os.getpid()}.log"
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "scanguard", "testbed", "scanner", "start", *vendors,
            "--workspace", str(workspace_.resolve()), "--ready-file", str(ready)]
    with log.open("wb") as sink:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
                                 start_new_session=True)
    deadline = time.monotonic() + READY_WAIT_S
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            if child.poll() is None:
                child.terminate()
            said = log.read_text(errors="replace").strip().splitlines()
            fail(f"the fake scanners did not start: {said[-1] if said else 'no message'}",
                 EXIT_INVALID if child.returncode == EXIT_INVALID else EXIT_FAILURE)
        time.sleep(0.1)
    doc = json.loads(ready.read_text())
    ready.unlink(missing_ok=True)
    for s in doc["scanners"]:
        info(f"fake {safe(s['vendor'])} for scanner {safe(s['scanner'])} at {safe(s['url'])} (pid {child.pid}; log "
             f"{safe(log)})")
    if json_:
        emit_json({"command": "testbed scanner start", "pid": child.pid, "log": str(log), **doc})
    else:
        sys.stdout.write(_exports(doc["env"]))
        info("stop them with `eval \"$(scanguard testbed scanner stop)\"`")


def _control(path: str, control: str | None, method: str = "GET") -> dict:
    url = control or os.environ.get(CONTROL_ENV)
    if not url:
        fail(f"no fake scanners are known here: start them with `scanguard testbed scanner start` (or set "
             f"{CONTROL_ENV})", EXIT_INVALID)
    try:
        req = urllib.request.Request(url.rstrip("/") + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error", str(e))
        except ValueError:
            message = str(e)
        fail(message, EXIT_INVALID if e.code == 404 else EXIT_FAILURE)
    except (urllib.error.URLError, OSError) as e:
        fail(f"the fake scanners at {url} do not answer ({getattr(e, 'reason', e)}): were they stopped?",
             EXIT_FAILURE)


ControlOpt = Annotated[Optional[str], typer.Option("--control",
                                                  help=f"The control interface (default: ${CONTROL_ENV}).")]


@scanner_app.command("edit")
def edit_command(
    scanner: Annotated[str, typer.Argument(help="The scanner, as scanguard.toml names it.")],
    template: Annotated[str, typer.Argument(help="The managed template to change, like full-audit.")],
    control: ControlOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a managed template on a fake scanner as someone in the product's console would
    (less safe: safe checks off, every port): the drift `diff` shows and `sync` restores."""
    from urllib.parse import urlencode

    doc = _control("/edit?" + urlencode({"scanner": scanner, "template": template}), control, "POST")
    if json_:
        emit_json({"command": "testbed scanner edit", "scanner": scanner, "template": template, **doc})
    else:
        info(f"edited {safe(template)} on {safe(scanner)} as in its console: {safe(doc.get('changed', ''))}")


@scanner_app.command("stop")
def stop_command(control: ControlOpt = None, json_: JsonOpt = False) -> None:
    """Stop the fake scanners, and print the `unset` line for the variables `start` set."""
    names = _control("/status", control).get("env", [])
    stopped = _control("/stop", control, "POST").get("stopped", [])
    if json_:
        emit_json({"command": "testbed scanner stop", "stopped": stopped, "unset": names})
    else:
        sys.stdout.write(f"unset {' '.join(names)}\n" if names else "")
        info(f"stopped the fakes of {safe(', '.join(stopped)) or 'no scanner'}")


def register(group: typer.Typer) -> None:
    """Add `scanner` to the `testbed` group."""
    group.add_typer(scanner_app, name="scanner")
