"""A cold load of many files parses them on every core (scanguard.yamlpool); what it finds must be
exactly what one process finds: the same profiles, the same problems at the same lines."""

from __future__ import annotations

import threading

import pytest

from scanguard import yamlpool
from scanguard.workspace import check_workspace, shipped_templates_dir
from tests.helpers import make_workspace


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


@pytest.fixture
def many(tmp_path):
    files = {f"dev-{i:03d}.yaml": _profile(i) for i in range(60)}
    root = make_workspace(tmp_path / "ws", {**files, **BROKEN})
    (root / "profiles" / "dev-904.yaml").write_bytes(b"id: dev-904\nname: Latin-1 \xe9\n")  # not UTF-8
    return root


def _load(root, monkeypatch, processes: int):
    monkeypatch.setenv("SCANGUARD_LOAD_CACHE", "off")  # every load parses every file
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", str(processes))
    monkeypatch.setenv("SCANGUARD_PARSE_MIN_FILES", "2")
    ws, problems = check_workspace(root)
    return ws, [(p.file, p.line, p.field, p.message) for p in problems.items], yamlpool.last_processes


def test_several_processes_find_what_one_finds(many, monkeypatch):
    _, alone, used_one = _load(many, monkeypatch, 1)
    _, together, used_two = _load(many, monkeypatch, 2)
    assert (used_one, used_two) == (1, 2)  # the second load really was split over two processes
    assert together == alone
    by_file = {f: line for f, line, _, _ in together}
    assert by_file == {"profiles/dev-900.yaml": 5, "profiles/dev-901.yaml": 7,
                       "profiles/dev-902.yaml": 3, "profiles/dev-903.yaml": 3, "profiles/dev-904.yaml": None}
    assert "not UTF-8" in next(m for f, _, _, m in together if f == "profiles/dev-904.yaml")


def test_valid_files_load_alike_on_several_processes(tmp_path, monkeypatch):
    root = make_workspace(tmp_path / "ws", {f"dev-{i:03d}.yaml": _profile(i) for i in range(60)})
    alone, _, _ = _load(root, monkeypatch, 1)
    together, _, used = _load(root, monkeypatch, 3)
    assert used == 3
    assert together.profiles == alone.profiles and len(alone.profiles) == 60
    assert together.profile("dev-042").constraints.excluded_ports[0].ports.text() == "7042/tcp"


def test_another_thread_keeps_the_parse_in_one_process(monkeypatch):
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "2")
    monkeypatch.setenv("SCANGUARD_PARSE_MIN_FILES", "2")
    assert yamlpool.workers_for(100) == 2
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert yamlpool.workers_for(100) == 1  # a lock held by that thread would stay held in a fork
    finally:
        stop.set()
        other.join()


def test_few_files_or_one_worker_never_fork(monkeypatch):
    monkeypatch.delenv("SCANGUARD_PARSE_MIN_FILES", raising=False)
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "4")
    assert yamlpool.workers_for(yamlpool.MIN_FILES - 1) == 1
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "1")
    assert yamlpool.workers_for(50_000) == 1


def test_workers_take_what_the_cache_holds_and_reread_an_edited_file(tmp_path, monkeypatch):
    from scanguard import loadcache

    root = make_workspace(tmp_path / "ws", {f"dev-{i:03d}.yaml": _profile(i) for i in range(60)})
    monkeypatch.setenv("SCANGUARD_PARSE_WORKERS", "2")
    monkeypatch.setenv("SCANGUARD_PARSE_MIN_FILES", "2")
    check_workspace(root)  # fills the cache
    edited = root / "profiles" / "dev-010.yaml"
    edited.write_text(_profile(10).replace("7010/tcp", "7999/tcp"), encoding="utf-8")
    uses = []
    save = loadcache.LoadCache.save
    monkeypatch.setattr(loadcache.LoadCache, "save", lambda self: (uses.append((self.hits, self.misses)), save(self)))
    ws, problems = check_workspace(root)
    assert yamlpool.last_processes == 2 and not problems.items
    # every unchanged file (59 profiles, the workspace's template and the shipped ones) from the
    # cache, the edited one read afresh
    assert uses == [(59 + 1 + len(list(shipped_templates_dir().glob("*.yaml"))), 1)]
    assert ws.profile("dev-010").constraints.excluded_ports[0].ports.text() == "7999/tcp"
