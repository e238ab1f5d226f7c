"""A load of many files reads and parses them on every core (scanguard.yamlpool); what it finds
must be exactly what one process finds: the same profiles, the same problems at the same lines.

Workers are forked only from a process with no other thread (a lock held by another thread would
stay held in the child), and a test process has the threads of earlier tests' servers: each load
here runs in a fresh process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scanguard import yamlpool
from scanguard.workspace import shipped_templates_dir
from tests.helpers import make_workspace

LOAD = """
import json, sys
from scanguard import loadcache, yamlpool
from scanguard.workspace import check_workspace
uses = []
save = loadcache.LoadCache.save
loadcache.LoadCache.save = lambda self: (uses.append((self.hits, self.misses)), save(self))[1]
ws, problems = check_workspace(sys.argv[1])
print(json.dumps({
    "processes": yamlpool.last_processes,
    "uses": uses,
    "problems": [[p.file, p.line, p.field, p.message] for p in problems.items],
    "profiles": None if ws is None else [p.model_dump(mode="json") for p in ws.profiles],
}))
"""


def _profile(i: int) -> str:
    return f"""\
id: dev-{i:03d}
name: Device {i}
location:
  hosts: [10.7.{i // 250}.{i % 250 + 1}]
constraints:
  excluded_ports:
    - ports: {7000 + i}/tcp
      reason: crashed when probed
"""


BROKEN = {
    # a YAML error, a value the model refuses, an alias, a duplicate key: each at its own line
    "dev-900.yaml": "id: dev-900\nname: Bad\nlocation:\n  hosts: [10.9.0.1\n",
    "dev-901.yaml": "id: dev-901\nname: Bad port\nlocation:\n  hosts: [10.9.0.2]\nconstraints:\n"
                    "  excluded_ports:\n    - ports: 70000/tcp\n      reason: typo\n",
    "dev-902.yaml": "id: dev-902\nname: &n Alias\nvendor: *n\nlocation:\n  hosts: [10.9.0.3]\n",
    "dev-903.yaml": "id: dev-903\nname: Twice\nname: Again\nlocation:\n  hosts: [10.9.0.4]\n",
}


def _load(root: Path, workers: int, *, cache: bool = False) -> dict:
    """check_workspace in a fresh process with `workers` worker processes allowed."""
    env = {**os.environ, "SCANGUARD_PARSE_WORKERS": str(workers), "SCANGUARD_PARSE_MIN_FILES": "2",
           "SCANGUARD_LOAD_CACHE": "on" if cache else "off"}
    proc = subprocess.run([sys.executable, "-c", LOAD, str(root)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture
def many(tmp_path):
    files = {f"dev-{i:03d}.yaml": _profile(i) for i in range(60)}
    root = make_workspace(tmp_path / "ws", {**files, **BROKEN})
    (root / "profiles" / "dev-904.yaml").write_bytes(b"id: dev-904\nname: Latin-1 \xe9\n")  # not UTF-8
    return root


def test_several_processes_find_what_one_finds(many):
    alone, together = _load(many, 1), _load(many, 2)
    assert (alone["processes"], together["processes"]) == (1, 2)  # the second load really was split
    assert together["problems"] == alone["problems"]
    by_file = {f: line for f, line, _, _ in together["problems"]}
    assert by_file == {"profiles/dev-900.yaml": 5, "profiles/dev-901.yaml": 7,
                       "profiles/dev-902.yaml": 3, "profiles/dev-903.yaml": 3, "profiles/dev-904.yaml": None}
    assert "not UTF-8" in next(m for f, _, _, m in together["problems"] if f == "profiles/dev-904.yaml")


def test_valid_files_load_alike_on_several_processes(tmp_path):
    root = make_workspace(tmp_path / "ws", {f"dev-{i:03d}.yaml": _profile(i) for i in range(60)})
    alone, together = _load(root, 1), _load(root, 3)
    assert together["processes"] == 3 and not together["problems"]
    assert together["profiles"] == alone["profiles"] and len(alone["profiles"]) == 60
    dev42 = next(p for p in together["profiles"] if p["id"] == "dev-042")
    assert dev42["constraints"]["excluded_ports"][0]["ports"] == "7042/tcp"


def test_workers_take_what_the_cache_holds_and_reread_an_edited_file(tmp_path):
    root = make_workspace(tmp_path / "ws", {f"dev-{i:03d}.yaml": _profile(i) for i in range(30)})
    _load(root, 2, cache=True)  # the cache holds these 30
    for i in range(30, 60):  # 30 more files: enough to parse for the workers to be used
        (root / "profiles" / f"dev-{i:03d}.yaml").write_text(_profile(i), encoding="utf-8")
    edited = root / "profiles" / "dev-010.yaml"
    edited.write_text(_profile(10).replace("7010/tcp", "7999/tcp"), encoding="utf-8")
    again = _load(root, 2, cache=True)
    assert again["processes"] == 2 and not again["problems"]
    # every unchanged file (29 profiles, the workspace's template and the shipped ones) from the
    # cache; the edited one and the new ones read afresh
    assert again["uses"] == [[29 + 1 + len(list(shipped_templates_dir().glob("*.yaml"))), 31]]
    dev10 = next(p for p in again["profiles"] if p["id"] == "dev-010")
    assert dev10["constraints"]["excluded_ports"][0]["ports"] == "7999/tcp"
    warm = _load(root, 2, cache=True)  # the cache holds every file now: read here, no fork
    assert warm["processes"] == 1 and warm["profiles"] == again["profiles"]


def test_another_thread_keeps_the_load_in_one_process(monkeypatch):
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "2")
    monkeypatch.setenv("SCANGUARD_PARSE_MIN_FILES", "2")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert yamlpool.workers_for(100) == 1  # a lock held by that thread would stay held in a fork
    finally:
        stop.set()
        other.join()
    if threading.active_count() == 1:  # earlier tests may have left servers' threads running
        assert yamlpool.workers_for(100) == 2


def test_few_files_or_one_worker_never_fork(monkeypatch):
    monkeypatch.delenv("SCANGUARD_PARSE_MIN_FILES", raising=False)
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "4")
    assert yamlpool.workers_for(yamlpool.MIN_FILES - 1) == 1
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "1")
    assert yamlpool.workers_for(50_000) == 1
