"""The GVM plugin against the real gvmd `make test` builds and starts (see conftest.py), its NVTs
learnt from the stand-in OSP scanner (scanguard_testbed_scanners.osp_scanner): what the plugin
writes is stored and read back by gvmd itself, and what gvmd refuses, it refuses for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gvm.connections import UnixSocketConnection
from gvm.errors import GvmError, GvmResponseError
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeCheckCommandTransform
from scanguard import (
    AddressSet,
    PortSet,
    ScannerError,
    Targets,
    compile_plan,
    load_workspace,
    managed_marker,
    parse_marker,
    payload_hash,
    violations,
)
from scanguard_gvm.client import GvmClient
from scanguard_gvm.connection import open_connection
from scanguard_gvm.document import parse, render
from scanguard_gvm.plugin import VENDOR

from scanguard_testbed_scanners.osp_scanner import NMAP_WRAPPER, OPENVAS_TCP_SCANNER, PING_HOST

# one gvmd for the run: its tests go to one pytest-xdist worker (`--dist loadgroup`), in turn,
# rather than each holding a worker while it waits for the gvmd's lock (conftest.py)
pytestmark = pytest.mark.xdist_group("real-gvmd")

OPENVAS_DEFAULT = "08b69003-5fc2-4037-a479-93b440211c73"
EXAMPLE_GVM_TEMPLATES = 8  # discovery and fragile-safe, general and for the energy-plcs, hvac and ot-network groups


@pytest.fixture(scope="module")
def plan(example_workspace):
    return compile_plan(load_workspace(example_workspace))


def example_with(real_gvmd, tmp_path: Path) -> Path:
    """The example workspace, its GVM scanner pointed at the real gvmd's socket."""
    ws = tmp_path / "hospital"
    shutil.copytree(Path(__file__).parents[3] / "examples" / "hospital", ws,
                    ignore=shutil.ignore_patterns(".scanguard", "out"))
    toml = ws / "scanguard.toml"
    text = toml.read_text()
    text = text.replace('url = "https://127.0.0.1:9390"', f'socket = "{real_gvmd.socket}"\ntimeout_s = 120', 1)
    toml.write_text(text)
    return ws


def scanguard(ws: Path, command: str, *args: str, **env: str) -> tuple[int, dict]:
    """The scanguard command, as cron runs it: exit code and its JSON document."""
    proc = subprocess.run([sys.executable, "-m", "scanguard", command, "--workspace", str(ws), *args, "--json"],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from scanguard {command} (exit {proc.returncode}): {proc.stderr}") from None


def push(client, ct):
    doc = render(ct)
    return client.create(ct.name, doc, managed_marker(ct.name, payload_hash(doc))), doc


def update(client, rid, ct):
    doc = render(ct)
    return client.update(rid, ct.name, doc, managed_marker(ct.name, payload_hash(doc))), doc


def test_the_example_gvm_scanner_syncs_writes_nothing_the_second_time_and_restores_a_gmp_edit(real_gvmd, tmp_path):
    ws = example_with(real_gvmd, tmp_path)
    creds = {"GVM_USERNAME": real_gvmd.username, "GVM_PASSWORD": real_gvmd.password}
    code, first = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    (r,) = first["scanners"]
    assert (code, r["status"], r["created"], r["errors"]) == (0, "ok", EXAMPLE_GVM_TEMPLATES, [])

    code, second = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    (r,) = second["scanners"]
    assert (code, r["writes"], r["unchanged"]) == (0, 0, EXAMPLE_GVM_TEMPLATES)

    # an admin deletes a range of a managed port list (gvmd allows it on a list in use)
    with real_gvmd.gmp() as g:
        pl = next(p for p in g.get_port_lists(filter_string="rows=-1").findall("port_list")
                  if (parse_marker(p.findtext("comment")) or ("",))[0] == "fragile-safe@ot-network")
        first_range = g.get_port_list(pl.get("id")).find("port_list/port_ranges/port_range")
        g.delete_port_range(first_range.get("id"))
    code, third = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    (r,) = third["scanners"]
    assert (code, r["status"], r["drift_restored"]) == (3, "drift_restored", 1)
    assert [o["name"] for o in r["objects"] if o["action"] == "drift"] == ["fragile-safe@ot-network"]

    code, fourth = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    assert (code, fourth["scanners"][0]["writes"]) == (0, 0)


def test_templates_dropped_from_the_plan_are_retired_but_never_from_under_an_admins_task(real_gvmd, tmp_path):
    ws = example_with(real_gvmd, tmp_path)
    creds = {"GVM_USERNAME": real_gvmd.username, "GVM_PASSWORD": real_gvmd.password}
    code, _ = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    assert code == 0

    def versions(g) -> dict[str, str]:
        return {parse_marker(c.findtext("comment"))[0]: c.get("id")
                for c in g.get_scan_configs(filter_string="rows=-1").findall("config")
                if parse_marker(c.findtext("comment"))}

    # an admin scans with the version of discovery@hvac in force, through a task of their own
    with real_gvmd.gmp() as g:
        hvac = versions(g)["discovery@hvac"]
        tgt = g.create_target("admin's", hosts=["192.0.2.1"], port_range="T:22").get("id")
        theirs = g.create_task("admin's scan", hvac, tgt, OPENVAS_DEFAULT).get("id")
    (ws / "profiles" / "opto22.yaml").unlink()  # the hvac group's only device: its templates lose their vouching

    code, second = scanguard(ws, "sync", "--scanner", "gvm-ot", **creds)
    (r,) = second["scanners"]
    done = {o["name"]: o for o in r["objects"] if o["action"] == "retire"}
    assert set(done) == {"discovery@hvac", "fragile-safe@hvac"}
    assert done["fragile-safe@hvac"]["verified"] and not done["fragile-safe@hvac"]["error"]
    refused = done["discovery@hvac"]["error"]
    assert "'admin's scan'" in refused and "not deleted, not repointed" in refused
    # the engine counts a retire the scanner refused as a failure of that scanner (exit 1)
    assert (code, r["status"], [e["object"] for e in r["errors"]]) == (1, "failed", ["discovery@hvac"])
    with real_gvmd.gmp() as g:
        left = versions(g)
        assert "fragile-safe@hvac" not in left and left["discovery@hvac"] == hvac
        assert g.get_task(theirs).find("task/config").get("id") == hvac
        tasks = [t.findtext("name") or "" for t in g.get_tasks(filter_string="rows=-1").findall("task")]
    assert not [t for t in tasks if t.startswith("fragile-safe@hvac")]


def test_a_16_bit_network_is_cut_into_targets_gvmd_accepts_that_name_it_exactly(real_gvmd, monkeypatch, plan):
    ct = plan.get("fragile-safe").model_copy(update={"targets": Targets(
        include=AddressSet.parse("10.40.0.0/16"), exclude=AddressSet.parse("10.40.0.0/28,10.40.10.0/24"))})
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    rid, doc = push(client, ct)
    with real_gvmd.gmp() as g:
        targets = g.get_targets(filter_string="rows=-1").findall("target")
        tasks = g.get_tasks(filter_string="rows=-1").findall("task")
    counts = [int(t.findtext("max_hosts")) for t in targets]  # gvmd's own count, after exclusions
    assert len(targets) == 16 and max(counts) <= 4095 and sum(counts) == 65536 - 16 - 256
    assert sorted(t.find("target").get("id") for t in tasks) == sorted(t.get("id") for t in targets)
    assert {t.find("config").get("id") for t in tasks} == {rid}
    back = client.read(rid)
    assert payload_hash(back.payload) == payload_hash(doc) == back.marker_hash


def test_what_gvmd_stores_reads_back_as_the_rendered_document(real_gvmd, monkeypatch, plan):
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    for name in ("discovery@ot-network", "fragile-safe@energy-plcs"):
        ct = plan.get(name)
        rid, doc = push(client, ct)
        back = client.read(rid)
        assert payload_hash(back.payload) == payload_hash(doc) == back.marker_hash
        assert violations(parse(back.payload), ct.constraints, vendor="gvm") == []


def test_only_ping_host_and_the_nmap_wrapper_of_the_port_scanners_are_selected(real_gvmd, monkeypatch, plan):
    rid, _ = push(VENDOR.client(real_gvmd.scanner(monkeypatch)), plan.get("fragile-safe@energy-plcs"))
    with real_gvmd.gmp() as g:
        chosen = {n.get("oid") for n in g.get_scan_config_nvts(config_id=rid, family="Port scanners").findall("nvt")}
        known = {n.get("oid") for n in g.get_scan_config_nvts(family="Port scanners").findall("nvt")}
    assert OPENVAS_TCP_SCANNER in known and chosen == {PING_HOST, NMAP_WRAPPER}


def test_safe_checks_and_the_alive_test_ports_are_stored_by_gvmd(real_gvmd, monkeypatch, plan):
    rid, _ = push(VENDOR.client(real_gvmd.scanner(monkeypatch)), plan.get("discovery@ot-network"))
    with real_gvmd.gmp() as g:
        prefs = {p.findtext("name"): p.findtext("value")
                 for p in g.get_scan_config(rid).findall("config/preferences/preference")
                 if p.find("nvt").get("oid") == ""}
    assert (prefs["safe_checks"], prefs["alive_test_ports"]) == ("yes", "22,80")


def test_an_update_makes_a_new_version_and_deletes_the_old_one(real_gvmd, monkeypatch, plan):
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    ct = plan.get("discovery@hvac")
    rid, _ = push(client, ct)
    first = ct.template.ports.tcp.intervals[0][0]
    tighter = ct.model_copy(update={"template": ct.template.model_copy(update={
        "ports": ct.template.ports - PortSet.parse(str(first))})})
    new_id, doc = update(client, rid, tighter)
    with real_gvmd.gmp() as g:
        configs = {c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")}
        (task,) = g.get_tasks(filter_string="rows=-1").findall("task")
        port_lists = g.get_port_lists(filter_string="rows=-1").findall("port_list")
    assert new_id != rid and rid not in configs and task.find("config").get("id") == new_id
    assert len([p for p in port_lists if parse_marker(p.findtext("comment"))]) == 1
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)


def test_delete_removes_every_object_of_the_template(real_gvmd, monkeypatch, plan):
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    rid, _ = push(client, plan.get("discovery@hvac"))
    client.delete(rid)
    with real_gvmd.gmp() as g:
        assert g.get_tasks(filter_string="rows=-1").findall("task") == []
        assert g.get_targets(filter_string="rows=-1").findall("target") == []
        assert [c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")
                if parse_marker(c.findtext("comment"))] == []


def test_gvmd_refuses_to_edit_a_config_in_use_but_lets_a_port_range_of_a_list_in_use_go(real_gvmd, monkeypatch, plan):
    rid, _ = push(VENDOR.client(real_gvmd.scanner(monkeypatch)), plan.get("discovery@hvac"))
    with real_gvmd.gmp() as g:
        with pytest.raises(GvmResponseError, match="Config is in use"):
            g.modify_scan_config_set_scanner_preference(rid, "safe_checks", value="no")
        pl = g.get_targets(filter_string="rows=-1").find("target/port_list").get("id")
        rng = g.get_port_list(pl).find("port_list/port_ranges/port_range").get("id")
        assert g.delete_port_range(rng).get("status") == "200"


def test_an_admins_task_on_a_managed_config_is_reported_and_keeps_its_version(real_gvmd, monkeypatch, plan):
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    ct = plan.get("discovery@hvac")
    rid, _ = push(client, ct)
    with real_gvmd.gmp() as g:
        tgt = g.create_target("admin's", hosts=["192.0.2.1"], port_range="T:22").get("id")
        theirs = g.create_task("admin's scan", rid, tgt, OPENVAS_DEFAULT).get("id")
    with pytest.raises(ScannerError, match=re.escape("'admin's scan'")):
        update(client, rid, ct)
    with real_gvmd.gmp() as g:
        assert g.get_task(theirs).find("task/config").get("id") == rid
        assert parse_marker(g.get_scan_config(rid).findtext("config/comment")) is not None
    with pytest.raises(ScannerError, match="not deleted, not repointed"):
        client.delete(rid)


def test_a_task_that_has_run_and_is_not_alterable_is_refused_before_any_write(real_gvmd, monkeypatch, plan):
    client = VENDOR.client(real_gvmd.scanner(monkeypatch))
    ct = plan.get("discovery@hvac")
    rid, _ = push(client, ct)
    with real_gvmd.gmp() as g:
        task = g.get_tasks(filter_string="rows=-1").find("task").get("id")
        g.modify_task(task, alterable=False)
        g.start_task(task)  # no scanner runs here: gvmd interrupts it, and it has run
        before = {c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")}
    with pytest.raises(ScannerError, match="not alterable"):
        update(client, rid, ct)
    with real_gvmd.gmp() as g:
        assert {c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")} == before
        assert g.get_task(task).find("task/config").get("id") == rid


def test_gvmd_refuses_every_command_of_a_connection_python_gvm_opened_again_after_losing_it(real_gvmd):
    # why a session whose connection was lost is over (connection.SessionConnection)
    conn = UnixSocketConnection(path=str(real_gvmd.socket), timeout=60)
    with Gmp(conn, transform=EtreeCheckCommandTransform()) as g:
        g.authenticate(real_gvmd.username, real_gvmd.password)
        conn._socket.shutdown(socket.SHUT_RDWR)  # the connection is lost
        with pytest.raises((GvmError, OSError)):
            g.get_tasks()
        with pytest.raises(GvmResponseError, match="allowed before AUTHENTICATE") as err:
            g.get_tasks()  # python-gvm connected again, and did not authenticate
    assert str(err.value.status) == "400"


class LostAfterSending:
    """A connection to the real gvmd that is lost right after it sends the first command that
    `lost_after` picks (the command reaches gvmd, its answer never reaches the client)."""

    def __init__(self, inner, lost_after, done: list) -> None:
        self._inner, self._lost_after, self._done = inner, lost_after, done

    def connect(self):
        self._inner.connect()

    def disconnect(self):
        self._inner.disconnect()

    def send(self, data: bytes):
        self._inner.send(data)
        if not self._done and self._lost_after(data):
            self._done.append(data)
            self._inner._socket.shutdown(socket.SHUT_RDWR)

    def read(self) -> bytes:
        return self._inner.read()

    def finish_send(self):
        self._inner.finish_send()


def test_a_connection_lost_while_naming_the_repointed_task_leaves_nothing_unsafe_hidden(real_gvmd, monkeypatch, plan):
    config = real_gvmd.scanner(monkeypatch)
    ct = plan.get("discovery@hvac")
    rid, doc = push(VENDOR.client(config), ct)
    marker = managed_marker(ct.name, payload_hash(doc))
    lost: list[bytes] = []
    client = GvmClient(config, connect=lambda: LostAfterSending(
        open_connection(config), lambda data: data.startswith(b"<modify_task") and b"<name>" in data, lost))
    with pytest.raises(ScannerError) as err:
        client.update(rid, ct.name, doc, marker)
    assert lost and err.value.transient and "refused" not in str(err.value)
    with real_gvmd.gmp() as g:
        (task,) = g.get_tasks(filter_string="rows=-1").findall("task")
        configs = {c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")
                   if parse_marker(c.findtext("comment"))}
    new_id = task.find("config").get("id")
    assert configs == {rid, new_id} and new_id != rid  # the old version stays, no task uses it
    (listed,) = client.list_managed()
    assert listed.remote_id == new_id and any(x.startswith(f"scan config {rid} ") for x in listed.payload["leftovers"])
    assert payload_hash(listed.payload) != listed.marker_hash  # drift: the next sync restores it
    assert client.update(rid, ct.name, doc, marker) == new_id  # the sync's retry finishes the push
    with real_gvmd.gmp() as g:
        assert {c.get("id") for c in g.get_scan_configs(filter_string="rows=-1").findall("config")
                if parse_marker(c.findtext("comment"))} == {new_id}
        (task,) = g.get_tasks(filter_string="rows=-1").findall("task")
    assert (task.findtext("name"), task.findtext("comment")) == (ct.name, marker)
    assert payload_hash(client.read(new_id).payload) == payload_hash(doc)
