"""`scanguard plugins`: what is loaded, from which distribution, with which hooks and vendors."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import JsonOpt, plugins
from .output import EXIT_FAILURE, emit_json, err, out, safe


def plugins_command(json_: JsonOpt = False) -> None:
    """List plugins, versions, hooks and vendors, and any plugin that failed to load."""
    pm = plugins()
    infos = pm.info()
    code = EXIT_FAILURE if pm.failures else 0
    if json_:
        emit_json({
            "command": "plugins",
            "status": "error" if code else "ok",
            "exit_code": code,
            "plugins": [
                {"name": i.name, "distribution": i.distribution, "version": i.version, "builtin": i.builtin,
                 "hooks": list(i.hooks), "vendors": list(i.vendors)} for i in infos
            ],
            "failed": [{"name": f.name, "distribution": f.distribution, "version": f.version, "error": f.error}
                       for f in pm.failures],
        })
    else:
        table = Table(title="scanguard plugins")
        for col in ("plugin", "distribution", "version", "hooks", "vendors"):
            table.add_column(col, overflow="fold")
        for i in infos:
            table.add_row(safe(i.name), safe(i.distribution), safe(i.version), ", ".join(i.hooks) or "-",
                          ", ".join(i.vendors) or "-")
        out.print(table)
        for f in pm.failures:
            err.print(f"[red]failed[/] {safe(f.text())}")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("plugins")(plugins_command)
