"""The 130 GMP commands recorded in ../shared/fixtures/gvm/gmp-real-answers.jsonl, as a scenario
that can be sent again to any gvmd (the real one, feedless, or the project's fake) through
python-gvm, giving answers in the recorded shape.

Each step names the record it reproduces (its `cmd`, word for word) and returns what was observed
in the record's fields: status and status text, whether an id came back, `show` (the part of the
answer the recording kept) or `client_error` (python-gvm refused before sending). Ids that gvmd
assigns differ on every run: `normalise` turns the ids of objects the scenario created into their
names (tgt1, cfg2, ...) in both the recording and the observation, so they compare as equal.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gvm.errors import GvmError
from gvm.protocols.gmp.requests.v224 import AliveTest, PortRangeType

FULL_AND_FAST = "daba56c8-73ec-11df-a475-002264764cea"
EMPTY = "085569ce-73ed-11df-83c3-002264764cea"
OPENVAS_DEFAULT = "08b69003-5fc2-4037-a479-93b440211c73"
NOBODY = "00000000-0000-0000-0000-000000000000"
PING_HOST = "1.3.6.1.4.1.25623.1.0.100315"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TASK_PREFS = ("max_checks", "max_hosts", "in_assets", "assets_apply_overrides", "assets_min_qod", "auto_delete",
              "auto_delete_data")


def load_records(fixtures_dir: Path) -> list[dict[str, Any]]:
    """The recorded commands and answers, in order."""
    path = fixtures_dir / "gvm" / "gmp-real-answers.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Run:
    """One replay: the session, the objects made so far (name -> id), what was observed."""

    gmp: Any
    ids: dict[str, str] = field(default_factory=dict)
    observed: list[dict[str, Any]] = field(default_factory=list)


def _answer(resp: Any, show: Any = ..., keep_id: str | None = None, run: Run | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": resp.get("status"), "status_text": resp.get("status_text")}
    if resp.get("id") and keep_id is not None and run is not None:
        run.ids[keep_id] = resp.get("id")
    if resp.get("id"):
        out["id"] = resp.get("id")
    if show is not ...:
        out["show"] = show(resp) if callable(show) else show
    return out


def _ranges(resp: Any) -> list[list[str]]:
    return [[r.findtext("type"), r.findtext("start"), r.findtext("end")]
            for r in resp.findall("port_list/port_ranges/port_range")]


def _target(resp: Any) -> dict[str, Any]:
    t = resp.find("target")
    alive = t.find("alive_tests")
    return {"hosts": t.findtext("hosts"), "exclude_hosts": t.findtext("exclude_hosts"),
            "max_hosts": t.findtext("max_hosts"),
            "alive_tests": (alive.text or "").strip() if alive is not None else None,
            "in_use": t.findtext("in_use"), "comment": t.findtext("comment"),
            "port_list/name": t.findtext("port_list/name"),
            "allow_simultaneous_ips": t.findtext("allow_simultaneous_ips"),
            "reverse_lookup_only": t.findtext("reverse_lookup_only")}


def _task(resp: Any) -> dict[str, Any]:
    t = resp.find("task")
    prefs = {p.findtext("scanner_name"): p.findtext("value") for p in t.findall("preferences/preference")}
    return {"target": t.find("target").get("id"), "config": t.find("config").get("id"), "status": t.findtext("status"),
            "alterable": t.findtext("alterable"), "prefs": {k: prefs[k] for k in TASK_PREFS if k in prefs}}


def _config(resp: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    c = resp.find("config")
    return {f: (c.findtext(f).strip() if c.findtext(f) is not None else None) for f in fields}


def _listing(tag: str, key: Callable[[Any], Any]) -> Callable[[Any], list]:
    return lambda resp: [key(el) for el in resp.findall(tag)]


def _id_name(el: Any) -> list[str]:
    return [el.get("id"), el.findtext("name")]


def _call(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except GvmError as e:
        return {"client_error": f"{type(e).__name__}: {e}"}


def _until_settled(run: Run, task: str) -> Any:
    """get_task once the start has been dealt with: with no scanner to run it, gvmd goes from
    Requested through a moment of Done to Interrupted."""
    for _ in range(100):
        resp = run.gmp.get_task(run.ids[task])
        if resp.findtext("task/status") not in ("Requested", "Queued", "Running", "Done"):
            return resp
        time.sleep(0.1)
    return resp


def _imported(name: str, *, with_id: bool = True, all_nvts: bool = False, comment: bool = True) -> str:
    head = f'<config id="{NOBODY[:-1]}1">' if with_id else "<config>"
    selectors = ("<nvt_selector><include>1</include><type>0</type><family_or_nvt/></nvt_selector>"
                 if all_nvts else "")
    parts = [head, f"<name>{name}</name>"]
    if comment:
        parts.append("<comment>probe</comment>")
    if with_id:
        parts.append("<usage_type>scan</usage_type>")
    parts.append(f"<preferences/><nvt_selectors>{selectors}</nvt_selectors></config>")
    return f"<get_configs_response>{''.join(parts)}</get_configs_response>"


def steps() -> list[tuple[str, Callable[[Run], dict[str, Any]]]]:
    """(recorded cmd, what to send) for every record, in order."""
    S: list[tuple[str, Callable[[Run], dict[str, Any]]]] = []

    def step(cmd: str) -> Callable:
        def deco(fn: Callable[[Run], dict[str, Any]]) -> Callable:
            S.append((cmd, fn))
            return fn
        return deco

    step("get_version")(lambda r: _answer(r.gmp.get_version(), lambda x: x.findtext("version")))
    step("authenticate")(lambda r: _answer(r.gmp.authenticate(r.gmp._username, r.gmp._password)))
    step("get_scan_configs")(lambda r: _answer(r.gmp.get_scan_configs(filter_string="rows=-1"),
                                               _listing("config", _id_name)))
    step("get_port_lists")(lambda r: _answer(r.gmp.get_port_lists(filter_string="rows=-1"),
                                             _listing("port_list", _id_name)))
    step("get_scanners")(lambda r: _answer(r.gmp.get_scanners(filter_string="rows=-1"), _listing("scanner", _id_name)))
    step("get_nvt_families")(lambda r: _answer(r.gmp.get_nvt_families(),
                                               _listing("families/family", lambda f: f.findtext("name"))))
    step("get_report_formats")(lambda r: _answer(r.gmp.get_report_formats(filter_string="rows=-1"),
                                                 _listing("report_format", _id_name)))
    step("get_targets")(lambda r: _answer(r.gmp.get_targets(filter_string="rows=-1"), _listing("target", _id_name)))
    step("get_tasks")(lambda r: _answer(r.gmp.get_tasks(filter_string="rows=-1"), _listing("task", _id_name)))
    step("get_feeds")(lambda r: _answer(r.gmp.get_feeds(), _listing(
        "feed", lambda f: [f.findtext("type"), f.findtext("version") or "", f.find("currently_syncing") is not None])))

    for i, text in enumerate(("T:1-7099,T:7101-65535", "T:1-7099,T:7101-65535,U:53", "1-100", "T:22,80,443",
                              "T:1-10, T:20-30", "T:1-100,T:50-150", "T:80,T:80", "T:0", "T:1-70000", "T:100-50", "",
                              "X:1-5", "T:1-5,U:", "U:53,T:22")):
        name = f"pl{i}"

        def create(r: Run, name: str = name, text: str = text) -> dict[str, Any]:
            resp = _call(lambda: r.gmp.create_port_list(name, text))
            return resp if isinstance(resp, dict) else _answer(resp, keep_id=name, run=r)

        S.append((f"create_port_list(name={name!r}, port_range={text!r})", create))
        if i not in (7, 8, 9, 10, 11):
            S.append((f"  get_port_list {name} ranges",
                      lambda r, name=name: _answer(r.gmp.get_port_list(r.ids[name]), _ranges)))

    step("create_port_list duplicate name 'pl0'")(lambda r: _answer(r.gmp.create_port_list("pl0", "T:1")))
    step("create_port_list('plempty','T:1')")(
        lambda r: _answer(r.gmp.create_port_list("plempty", "T:1"), keep_id="plempty", run=r))

    @step("delete_port_range (last range of plempty)")
    def _(r: Run) -> dict[str, Any]:
        rid = r.gmp.get_port_list(r.ids["plempty"]).find("port_list/port_ranges/port_range").get("id")
        return _answer(r.gmp.delete_port_range(rid))

    step("get_port_list plempty")(lambda r: _answer(r.gmp.get_port_list(r.ids["plempty"]), lambda x: [
        x.findtext("port_list/port_count/all"), _ranges(x)]))
    step("create_port_range on plempty T 5-10")(lambda r: _answer(
        r.gmp.create_port_range(r.ids["plempty"], 5, 10, PortRangeType.TCP)))
    step("create_target(hosts=[192.0.2.0/30, 198.51.100.7], exclude_hosts=[192.0.2.2], port_list=main)")(
        lambda r: _answer(r.gmp.create_target("tgt1", hosts=["192.0.2.0/30", "198.51.100.7"],
                                              exclude_hosts=["192.0.2.2"], port_list_id=r.ids["pl0"],
                                              comment="probe"), keep_id="tgt1", run=r))
    step("get_target tgt1")(lambda r: _answer(r.gmp.get_target(r.ids["tgt1"]), _target))
    step("create_target tgt2 alive_test=ICMP_PING hosts=[localhost, 2001:db8::1] port_list=empty")(
        lambda r: _answer(r.gmp.create_target("tgt2", hosts=["localhost", "2001:db8::1"],
                                              alive_test=AliveTest.ICMP_PING, port_list_id=r.ids["plempty"]),
                          keep_id="tgt2", run=r))
    step("get_target tgt2")(lambda r: _answer(r.gmp.get_target(r.ids["tgt2"]), _target))

    @step("create_target no port list")
    def _(r: Run) -> dict[str, Any]:
        # python-gvm insists on a port list or range: send the command it would build, without either
        return _answer(r.gmp._send_request_and_transform_response(
            _raw("<create_target><name>tgt3</name><hosts>192.0.2.9</hosts></create_target>")))

    step("create_target port_range only")(lambda r: _answer(
        r.gmp.create_target("tgt4", hosts=["192.0.2.10"], port_range="T:1-100"), keep_id="tgt4", run=r))
    step("create_target duplicate name tgt1")(lambda r: _answer(
        r.gmp.create_target("tgt1", hosts=["192.0.2.11"], port_list_id=r.ids["pl0"])))
    step("create_target exclude all hosts")(lambda r: _answer(
        r.gmp.create_target("tgt5", hosts=["192.0.2.12"], exclude_hosts=["192.0.2.12"], port_list_id=r.ids["pl0"])))
    step("create_target bad host")(lambda r: _answer(
        r.gmp.create_target("tgt6", hosts=["not a host!"], port_list_id=r.ids["pl0"]), keep_id="tgt6", run=r))
    step("create_target alive_test 'Consider Alive'")(lambda r: _answer(
        r.gmp.create_target("tgt7", hosts=["192.0.2.13"], alive_test=AliveTest.CONSIDER_ALIVE,
                            port_list_id=r.ids["pl0"]), keep_id="tgt7", run=r))
    step("create_scan_config(copy Full and fast)")(lambda r: _answer(r.gmp.create_scan_config(FULL_AND_FAST, "cfg0")))
    step("create_scan_config(copy Empty)")(lambda r: _answer(r.gmp.create_scan_config(EMPTY, "cfg0")))
    step("import_scan_config(minimal, no selectors/preferences)")(lambda r: _answer(
        r.gmp.import_scan_config(_imported("probe-imported")), keep_id="cfg1", run=r))
    step("import_scan_config(with 'all' nvt_selector)")(lambda r: _answer(
        r.gmp.import_scan_config(_imported("probe-imported-2", all_nvts=True)), keep_id="cfg2", run=r))
    step("import_scan_config(same again -> name clash?)")(lambda r: _answer(
        r.gmp.import_scan_config(_imported("probe-imported")), keep_id="cfg3", run=r))
    step("get_scan_configs after import")(lambda r: _answer(r.gmp.get_scan_configs(filter_string="rows=-1"),
                                                            _listing("config", _id_name)))
    step("get_scan_config cfg1")(lambda r: _answer(r.gmp.get_scan_config(r.ids["cfg1"]), lambda x: _config(
        x, ("name", "usage_type", "family_count", "nvt_count", "in_use", "predefined", "deprecated"))))
    step("create_scan_config(copy of imported cfg1)")(lambda r: _answer(
        r.gmp.create_scan_config(r.ids["cfg1"], "cfg1-copy"), keep_id="cfg1-copy", run=r))
    step("modify_scan_config_set_scanner_preference(cfg1, max_checks=4)")(lambda r: _answer(
        r.gmp.modify_scan_config_set_scanner_preference(r.ids["cfg1"], "max_checks", value="4")))
    step("modify_scan_config_set_family_selection(cfg1, [])")(lambda r: _answer(
        r.gmp.modify_scan_config_set_family_selection(r.ids["cfg1"], [])))
    step("modify_scan_config_set_family_selection(cfg1, [('Port scanners',True,True)])")(lambda r: _answer(
        r.gmp.modify_scan_config_set_family_selection(r.ids["cfg1"], [("Port scanners", True, True)])))
    step("modify_scan_config_set_nvt_selection(cfg1,'Port scanners',[1.3.6.1.4.1.25623.1.0.100315])")(
        lambda r: _answer(r.gmp.modify_scan_config_set_nvt_selection(r.ids["cfg1"], "Port scanners", [PING_HOST])))
    step("modify_scan_config_set_comment(cfg1)")(lambda r: _answer(
        r.gmp.modify_scan_config_set_comment(r.ids["cfg1"], comment="probe comment")))
    step("get_scan_config_nvt(unknown oid)")(lambda r: _answer(r.gmp.get_scan_config_nvt("1.3.6.1.4.1.25623.1.0.1")))
    step("get_scan_config_nvts(family=Port scanners)")(lambda r: _answer(
        r.gmp.get_scan_config_nvts(family="Port scanners"), lambda x: len(x.findall("nvt"))))
    step("create_task(config=Full and fast (absent))")(lambda r: _answer(
        r.gmp.create_task("task0", FULL_AND_FAST, r.ids["tgt1"], OPENVAS_DEFAULT)))
    step("create_task(config=random uuid)")(lambda r: _answer(
        r.gmp.create_task("task0", NOBODY, r.ids["tgt1"], OPENVAS_DEFAULT)))
    step("create_task(task1, cfg1, tgt1, OpenVAS Default, alterable, prefs)")(lambda r: _answer(
        r.gmp.create_task("task1", r.ids["cfg1"], r.ids["tgt1"], OPENVAS_DEFAULT, alterable=True,
                          preferences={"max_checks": 3, "max_hosts": 5}), keep_id="task1", run=r))
    step("get_task task1")(lambda r: _answer(r.gmp.get_task(r.ids["task1"]), _task))
    step("get_target tgt1 (now used)")(lambda r: _answer(r.gmp.get_target(r.ids["tgt1"]), _target))
    step("modify_target(tgt1, hosts=...) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], hosts=["192.0.2.20"])))
    step("modify_target(tgt1, exclude_hosts=...) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], exclude_hosts=["192.0.2.1"])))
    step("modify_target(tgt1, port_list_id=empty) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], port_list_id=r.ids["plempty"])))
    step("modify_target(tgt1, alive_test) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], alive_test=AliveTest.ICMP_PING)))
    step("modify_target(tgt1, comment only) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], comment="probe")))
    step("modify_target(tgt1, name only) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt1"], name="tgt1")))
    step("modify_port_list(main, comment) while in use")(lambda r: _answer(
        r.gmp.modify_port_list(r.ids["pl0"], comment="probe")))

    @step("delete_port_range of in-use port list")
    def _(r: Run) -> dict[str, Any]:
        rid = r.gmp.get_port_list(r.ids["pl0"]).find("port_list/port_ranges/port_range").get("id")
        return _answer(r.gmp.delete_port_range(rid))

    step("create_port_range on in-use port list")(lambda r: _answer(
        r.gmp.create_port_range(r.ids["pl0"], 1, 5, PortRangeType.TCP)))
    step("delete_target(tgt1) in use")(lambda r: _answer(r.gmp.delete_target(r.ids["tgt1"], ultimate=True)))
    step("delete_port_list(main) in use")(lambda r: _answer(r.gmp.delete_port_list(r.ids["pl0"], ultimate=True)))
    step("delete_scan_config(cfg1) in use")(lambda r: _answer(r.gmp.delete_scan_config(r.ids["cfg1"], ultimate=True)))
    step("modify_scan_config_set_scanner_preference(cfg1) in use")(lambda r: _answer(
        r.gmp.modify_scan_config_set_scanner_preference(r.ids["cfg1"], "max_checks", value="5")))
    step("modify_scan_config_set_family_selection(cfg1) in use")(lambda r: _answer(
        r.gmp.modify_scan_config_set_family_selection(r.ids["cfg1"], [])))
    step("modify_scan_config_set_comment(cfg1) in use")(lambda r: _answer(
        r.gmp.modify_scan_config_set_comment(r.ids["cfg1"], comment="in use")))
    step("create_target tgt8")(lambda r: _answer(
        r.gmp.create_target("tgt8", hosts=["203.0.113.5"], port_list_id=r.ids["plempty"]), keep_id="tgt8", run=r))
    step("modify_task(task1, target_id=tgt8)")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], target_id=r.ids["tgt8"])))
    step("modify_task(task1, config_id=cfg2, target_id=tgt1, preferences, comment)")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], config_id=r.ids["cfg2"], target_id=r.ids["tgt1"],
                          preferences={"max_checks": 2}, comment="probe")))
    step("get_task task1 after modify")(lambda r: _answer(r.gmp.get_task(r.ids["task1"]), _task))
    step("modify_task(task1, config_id=absent Full and fast)")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], config_id=FULL_AND_FAST)))
    step("modify_task(task1, target_id=random uuid)")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], target_id=NOBODY)))
    step("get_target tgt8 after task left it")(lambda r: _answer(r.gmp.get_target(r.ids["tgt8"]), _target))
    step("delete_target(tgt8) no longer used")(lambda r: _answer(r.gmp.delete_target(r.ids["tgt8"], ultimate=True)))
    step("start_task(task1) with no scanner running")(lambda r: _answer(r.gmp.start_task(r.ids["task1"])))
    step("get_task task1 after start")(lambda r: _answer(_until_settled(r, "task1"), _task))
    step("modify_task(task1, config_id=cfg1) after start")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], config_id=r.ids["cfg1"])))
    step("modify_task(task1, target_id=tgt2) after start")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task1"], target_id=r.ids["tgt2"])))
    step("get_task task1 final")(lambda r: _answer(r.gmp.get_task(r.ids["task1"]), _task))
    step("get_reports")(lambda r: _answer(r.gmp.get_reports(filter_string="rows=-1", ignore_pagination=True),
                                          _listing("report", lambda x: [x.get("id"),
                                                                        x.findtext("report/scan_run_status")])))
    step("create_task(task2, cfg1, tgt1, NOT alterable)")(lambda r: _answer(
        r.gmp.create_task("task2", r.ids["cfg1"], r.ids["tgt1"], OPENVAS_DEFAULT, alterable=False),
        keep_id="task2", run=r))
    step("start_task(task2)")(lambda r: _answer(r.gmp.start_task(r.ids["task2"])))
    step("get_task task2 after start")(lambda r: _answer(_until_settled(r, "task2"), _task))
    step("modify_task(task2 not alterable, config_id=cfg2) after start")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task2"], config_id=r.ids["cfg2"])))
    step("modify_task(task2 not alterable, target_id=tgt2) after start")(lambda r: _answer(
        r.gmp.modify_task(r.ids["task2"], target_id=r.ids["tgt2"])))
    step("delete_task(task1, ultimate)")(lambda r: _answer(r.gmp.delete_task(r.ids["task1"], ultimate=True)))
    step("delete_task(task2, ultimate)")(lambda r: _answer(r.gmp.delete_task(r.ids["task2"], ultimate=True)))
    step("delete_target(tgt1) after tasks gone")(lambda r: _answer(r.gmp.delete_target(r.ids["tgt1"], ultimate=True)))
    step("delete_scan_config(cfg1) after tasks gone")(lambda r: _answer(
        r.gmp.delete_scan_config(r.ids["cfg1"], ultimate=True)))
    step("create_container_task")(lambda r: _answer(r.gmp.create_container_task("container"), keep_id="container",
                                                    run=r))
    step("get_targets final")(lambda r: _answer(r.gmp.get_targets(filter_string="rows=-1"), _listing(
        "target", lambda t: [t.findtext("name"), t.findtext("in_use")])))
    step("get_target tgt6 ('not a host!')")(lambda r: _answer(r.gmp.get_target(r.ids["tgt6"]), lambda x: [
        x.findtext("target/hosts"), x.findtext("target/max_hosts")]))
    step("create_port_list inuse-pl")(lambda r: _answer(
        r.gmp.create_port_list("inuse-pl", "T:1-10,T:20-30"), keep_id="inuse-pl", run=r))
    step("create_target inuse-tgt")(lambda r: _answer(
        r.gmp.create_target("inuse-tgt", hosts=["192.0.2.30"], port_list_id=r.ids["inuse-pl"]), keep_id="inuse-tgt",
        run=r))
    step("import_scan_config p2cfg (no id, no comment, no type)")(lambda r: _answer(
        r.gmp.import_scan_config(_imported("p2cfg", with_id=False, comment=False)), keep_id="p2cfg", run=r))
    step("get_port_list inuse-pl (target only, no task)")(lambda r: _answer(
        r.gmp.get_port_list(r.ids["inuse-pl"]), lambda x: x.findtext("port_list/in_use")))
    step("create_port_range on port list used only by a target")(lambda r: _answer(
        r.gmp.create_port_range(r.ids["inuse-pl"], 40, 50, PortRangeType.TCP)))
    step("create_task p2task")(lambda r: _answer(
        r.gmp.create_task("p2task", r.ids["p2cfg"], r.ids["inuse-tgt"], OPENVAS_DEFAULT), keep_id="p2task", run=r))
    step("get_port_list inuse-pl (target used by task)")(lambda r: _answer(
        r.gmp.get_port_list(r.ids["inuse-pl"]), lambda x: x.findtext("port_list/in_use")))

    @step("delete_port_range on in-use port list")
    def _(r: Run) -> dict[str, Any]:
        first = next(pr for pr in r.gmp.get_port_list(r.ids["inuse-pl"]).findall("port_list/port_ranges/port_range")
                     if pr.findtext("start") == "1")
        return _answer(r.gmp.delete_port_range(first.get("id")))

    step("get_port_list after in-use delete_port_range")(lambda r: _answer(
        r.gmp.get_port_list(r.ids["inuse-pl"]), lambda x: [[pr.findtext("start"), pr.findtext("end")] for pr in
                                                         x.findall("port_list/port_ranges/port_range")]))
    step("modify_port_list(name) while in use")(lambda r: _answer(
        r.gmp.modify_port_list(r.ids["inuse-pl"], name="inuse-pl")))
    step("modify_target(alive_test=Consider Alive) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["inuse-tgt"], alive_test=AliveTest.CONSIDER_ALIVE)))
    step("get_target after alive_test modify")(lambda r: _answer(
        r.gmp.get_target(r.ids["inuse-tgt"]), lambda x: (x.find("target/alive_tests").text or "").strip()))
    step("modify_target(allow_simultaneous_ips=False) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["inuse-tgt"], allow_simultaneous_ips=False)))
    step("modify_target(reverse_lookup_only=True) while in use")(lambda r: _answer(
        r.gmp.modify_target(r.ids["inuse-tgt"], reverse_lookup_only=True)))
    step("modify_target(hosts) not in use (on tgt7)")(lambda r: _answer(
        r.gmp.modify_target(r.ids["tgt7"], hosts=["192.0.2.14"])))
    step("get_scan_config p2cfg")(lambda r: _answer(r.gmp.get_scan_config(r.ids["p2cfg"]), lambda x: _config(
        x, ("name", "comment", "family_count", "nvt_count", "in_use"))))
    step("get_scan_config_nvt")(lambda r: _answer(r.gmp.get_scan_config_nvt(PING_HOST),
                                                  lambda x: x.findtext("nvt/name") or ""))
    step("get_nvts? get_info NVT")(lambda r: _answer(r.gmp.get_info_list("NVT")))
    step("get_scan_config_nvts(config_id=p2cfg)")(lambda r: _answer(
        r.gmp.get_scan_config_nvts(config_id=r.ids["p2cfg"]), lambda x: len(x.findall("nvt"))))
    step("get_preferences (scanner prefs)")(lambda r: _answer(r.gmp.get_nvt_preferences(),
                                                              lambda x: len(x.findall("preference"))))
    step("delete_task p2task")(lambda r: _answer(r.gmp.delete_task(r.ids["p2task"], ultimate=True)))
    return S


class _raw:
    """A prepared command python-gvm sends as it is (for one it would refuse to build)."""

    def __init__(self, xml: str) -> None:
        self._xml = xml

    def __bytes__(self) -> bytes:
        return self._xml.encode()

    def __str__(self) -> str:
        return self._xml


def replay(gmp: Any, username: str, password: str) -> list[dict[str, Any]]:
    """Send every step through an open (not yet authenticated) python-gvm session."""
    gmp._username, gmp._password = username, password
    run = Run(gmp=gmp)
    for cmd, fn in steps():
        out = fn(run)
        run.observed.append({"cmd": cmd, **out})
    return run.observed


def normalise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with gvmd-assigned ids replaced: an id first seen in a creating answer becomes the
    name of what was created (the step's order), any other unknown UUID becomes "<uuid>"; the
    predefined ids (scanners, feed configs) stay as they are."""
    fixed = {FULL_AND_FAST, EMPTY, OPENVAS_DEFAULT, NOBODY, "6acd0832-df90-11e4-b9d5-28d24461215b"}
    names: dict[str, str] = {}
    out = []
    for n, rec in enumerate(records):
        rec = dict(rec)
        if "id" in rec:
            names.setdefault(rec["id"], f"created@{n}")
            rec["id"] = names[rec["id"]]
        if "show" in rec:
            text = json.dumps(rec["show"])
            text = UUID_RE.sub(lambda m: m.group(0) if m.group(0) in fixed else names.get(m.group(0), "<uuid>"), text)
            rec["show"] = json.loads(text)
        out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    """Replay the recording against a real gvmd without a feed and print what differs:

        python plugins/gvm/tests/gmp_scenario.py --socket /tmp/gvmbuild/gvmd.sock --password ...

    (a fresh gvmd database: build.sh and start.sh, without stub-feed.sh or NVTs)."""
    import argparse

    from gvm.connections import UnixSocketConnection
    from gvm.protocols.gmp import Gmp
    from gvm.transforms import EtreeTransform

    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", required=True)
    ap.add_argument("--fixtures", default=str(Path(__file__).resolve().parents[4] / "shared" / "fixtures"))
    args = ap.parse_args(argv)
    records = load_records(Path(args.fixtures))
    with Gmp(UnixSocketConnection(path=args.socket, timeout=60), transform=EtreeTransform()) as gmp:
        observed = replay(gmp, args.username, args.password)
    differ = [(r, o) for r, o in zip(normalise(records), normalise(observed)) if r != o]
    for r, o in differ:
        print(f"recorded: {r}\nobserved: {o}\n")
    print(f"{len(records) - len(differ)} of {len(records)} answers as recorded")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
