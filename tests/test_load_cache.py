"""The load cache: an unchanged file is not parsed again, and nothing else ever comes from it: an
edited file is read afresh, a corrupt or foreign cache is rebuilt, errors keep their lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanguard import loadcache, workspace, yamlpool
from scanguard.errors import WorkspaceError
from scanguard.model.ports import PortSet
from scanguard.workspace import check_workspace, load_workspace
from tests.helpers import make_workspace

PUMP = """\
# the pumps of ward 3
id: pump
name: Infusion pumps
location:
  cidrs: [10.1.0.0/24]
constraints:
  excluded_ports:
    - ports: 7100/tcp
      reason: the pump reboots
"""
MONITOR = """\
id: monitor
name: Patient monitors
location:
  hosts: [10.2.0.5]
"""


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "hospital"


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / "cache").glob("load-*.json"))  # MINIMAL_TOML keeps state in the workspace


@pytest.fixture
def ws_root(tmp_path):
    root = make_workspace(tmp_path / "ws", {"pump.yaml": PUMP, "monitor.yaml": MONITOR})
    load_workspace(root)  # fills the cache
    assert len(_cache_files(root)) == 1
    return root


@pytest.fixture
def no_parsing(monkeypatch):
    """Make any YAML parsing fail the test: what follows must come from the cache."""
    def refuse(*args, **kwargs):
        raise AssertionError("a file was parsed")
    monkeypatch.setattr(workspace, "parse", refuse)
    monkeypatch.setattr(yamlpool, "parse", refuse)  # files read ahead are parsed there


def test_an_unchanged_workspace_loads_from_the_cache_without_parsing(ws_root, no_parsing):
    ws = load_workspace(ws_root)
    assert {p.id for p in ws.profiles} == {"pump", "monitor"}
    assert ws.profile("pump").constraints.excluded_ports[0].ports == PortSet.parse("7100/tcp")


def test_an_edited_profile_is_read_again_even_with_the_same_size_and_time(ws_root):
    path = ws_root / "profiles" / "pump.yaml"
    before = path.stat()
    path.write_text(PUMP.replace("7100/tcp", "7200/tcp"), encoding="utf-8")  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    ws = load_workspace(ws_root)
    assert ws.profile("pump").constraints.excluded_ports[0].ports == PortSet.parse("7200/tcp")


def test_the_old_content_is_never_served_once_a_file_changes_back_and_forth(ws_root):
    path = ws_root / "profiles" / "pump.yaml"
    for port in ("7200/tcp", "7100/tcp", "7300/tcp"):
        path.write_text(PUMP.replace("7100/tcp", port), encoding="utf-8")
        assert load_workspace(ws_root).profile("pump").constraints.excluded_ports[0].ports == PortSet.parse(port)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_corrupt_cache_is_rebuilt_not_trusted(ws_root, damage):
    (cache,) = _cache_files(ws_root)
    raw = cache.read_bytes()
    broken = {"truncate": raw[: len(raw) // 2], "flip": raw.replace(b"7100/tcp", b"7101/tcp"),
              "garbage": b"\x00\xff not json", "empty": b""}[damage]
    assert broken != raw
    cache.write_bytes(broken)
    ws = load_workspace(ws_root)
    assert ws.profile("pump").constraints.excluded_ports[0].ports == PortSet.parse("7100/tcp")
    assert cache.read_bytes() == raw  # rewritten whole


def _poison(cache: Path, **head_changes) -> None:
    """Rewrite the cache so that the pump's entry says port 7101, with a valid digest, and the
    header changed as given."""
    head_raw, _, body = cache.read_bytes().partition(b"\n")
    body = body.replace(b"7100/tcp", b"7101/tcp")
    head = json.loads(head_raw)
    head.update(digest=loadcache.hashlib.sha256(body).hexdigest(), **head_changes)
    cache.write_bytes(json.dumps(head).encode() + b"\n" + body)


@pytest.mark.parametrize("change", [{"fingerprint": "another scanguard"}, {"format": loadcache.FORMAT + 1}])
def test_a_cache_from_another_version_or_schema_is_not_used(ws_root, change):
    (cache,) = _cache_files(ws_root)
    _poison(cache, **change)
    ws = load_workspace(ws_root)
    assert ws.profile("pump").constraints.excluded_ports[0].ports == PortSet.parse("7100/tcp")


def test_the_fingerprint_follows_the_version_and_the_loader_source(monkeypatch):
    before = loadcache.fingerprint()
    loadcache.fingerprint.cache_clear()
    monkeypatch.setattr("scanguard.__version__", "99.0.0")
    try:
        assert loadcache.fingerprint() != before
    finally:
        loadcache.fingerprint.cache_clear()
    assert "model" in loadcache._SOURCES and "yamlsrc.py" in loadcache._SOURCES


def test_a_cached_document_is_validated_again_on_every_load(ws_root, monkeypatch):
    # a cache entry that no longer validates (as after a stricter rule) is set aside and the file read
    (cache,) = _cache_files(ws_root)
    head_raw, _, body = cache.read_bytes().partition(b"\n")
    lines = []
    for line in body.decode().split("\n"):  # "<kind>:<hash>\t<document as JSON>"
        key, _, text = line.partition("\t")
        doc = json.loads(text)
        if doc.get("id") == "pump":
            doc["colour"] = "blue"
        lines.append(f"{key}\t{json.dumps(doc)}")
    body = "\n".join(lines).encode()
    head = json.loads(head_raw)
    head["digest"] = loadcache.hashlib.sha256(body).hexdigest()
    cache.write_bytes(json.dumps(head).encode() + b"\n" + body)
    ws = load_workspace(ws_root)
    assert ws.profile("pump").name == "Infusion pumps"


def test_errors_keep_their_file_and_line_with_a_warm_cache(ws_root):
    (ws_root / "profiles" / "monitor.yaml").write_text(MONITOR + "constraints:\n  rate:\n    parallel_hosts: 0\n"
                                                        "    reason: slow\n", encoding="utf-8")
    (ws_root / "profiles" / "pump-copy.yaml").write_text(PUMP, encoding="utf-8")  # cached content, new file
    with pytest.raises(WorkspaceError) as e:
        load_workspace(ws_root)
    found = sorted((p.file, p.line, p.field) for p in e.value.problems)
    assert found == [("profiles/monitor.yaml", 7, "constraints.rate.parallel_hosts"),
                     ("profiles/pump.yaml", 2, "id")]
    assert "already defined in profiles/pump-copy.yaml" in e.value.problems[-1].message


def test_the_cache_is_safe_to_delete(ws_root):
    for f in _cache_files(ws_root):
        f.unlink()
    assert len(load_workspace(ws_root).profiles) == 2
    assert len(_cache_files(ws_root)) == 1


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path):
    root = make_workspace(tmp_path / "ws", {"pump.yaml": PUMP}, toml='[workspace]\nstate = "state/state.db"\n')
    (root / "state").write_text("a file where the state folder should be", encoding="utf-8")
    ws, problems = check_workspace(root)
    assert ws is not None and not problems.errors


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv(loadcache.ENV_SWITCH, "off")
    root = make_workspace(tmp_path / "ws", {"pump.yaml": PUMP})
    load_workspace(root)
    assert _cache_files(root) == []


def test_the_command_line_reports_the_same_errors_cold_and_warm(ws_root):
    (ws_root / "profiles" / "monitor.yaml").write_text(MONITOR + "policy: sometimes\n", encoding="utf-8")
    runs = [subprocess.run([sys.executable, "-m", "scanguard", "validate", "--workspace", str(ws_root)],
                           capture_output=True, text=True) for _ in range(2)]
    assert [r.returncode for r in runs] == [2, 2]
    assert runs[0].stderr == runs[1].stderr and "profiles/monitor.yaml:5: policy:" in runs[0].stderr


def test_a_warm_load_gives_exactly_what_a_cold_load_gives(tmp_path, monkeypatch):
    # cached documents are validated from their JSON text: the records must be the very ones the
    # YAML gives, for the example workspace and the shipped templates
    root = tmp_path / "hospital"
    shutil.copytree(EXAMPLES, root)
    cold = load_workspace(root)
    assert _cache_files(root / ".scanguard")
    monkeypatch.setattr(workspace, "parse", lambda *a, **k: pytest.fail("a file was parsed"))
    monkeypatch.setattr(yamlpool, "parse", lambda *a, **k: pytest.fail("a file was parsed"))
    warm = load_workspace(root)
    assert warm.profiles == cold.profiles and len(warm.profiles) > 5
    assert warm.templates == cold.templates
    assert [p.model_dump() for p in warm.profiles] == [p.model_dump() for p in cold.profiles]
