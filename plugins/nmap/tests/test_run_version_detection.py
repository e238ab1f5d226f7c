"""Version detection in a run started here: nmap's service probes are sent wherever checks are on,
but only the version scripts the template's checks allow can follow them (a private script
database in a data directory scanguard controls); a template that excludes nmap's version
category never gets a service probe, rendered or run. Real nmap says which version scripts it
can choose with that database."""

from __future__ import annotations

import re
import shutil

import pytest

from scanguard import CompiledTemplate, PortSet, ScanguardError, ScanTemplate
from scanguard_nmap.argv import render_argv
from scanguard_nmap.nse import Selection, parse_rules
from scanguard_nmap.run import build_argv
from scanguard_nmap.scriptdb import SCRIPT_DB, installed_script_db, read_script_db

needs_installed_nmap = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
GENTLE = ["dos", "brute-force", "exploit", "intrusive", "fuzzing", "unsafe", "web-crawl"]


def _compiled(**checks) -> CompiledTemplate:
    t = ScanTemplate(name="t", ports=PortSet.parse("8080"), checks=checks)
    return CompiledTemplate(name="t", base="t", template=t)


def _private_db(argv: list[str]):
    datadir = argv[argv.index("--datadir") + 1]
    return {e.name: e.categories for e in read_script_db(open(f"{datadir}/{SCRIPT_DB}").read())}


def _installed_db():
    return {e.name: e.categories for e in read_script_db(installed_script_db().read_text())}


@needs_installed_nmap
def test_a_safe_only_run_sends_the_service_probes_and_keeps_only_safe_version_scripts(tmp_path):
    ct = _compiled(safe_only=True, excluded_categories=GENTLE)
    argv = build_argv(ct, ["127.0.0.23"], tmp_path / "scan.xml")

    assert "-sV" not in render_argv(ct)  # rendered for another machine: the strict rule
    assert "-sV" in argv and argv[argv.index("--datadir") + 1] == str(tmp_path / "scan.nmap-data")
    mine, installed = _private_db(argv), _installed_db()
    version = {n for n, cats in mine.items() if "version" in cats}
    assert version and all("safe" in mine[n] and not mine[n] & {"intrusive", "dos"} for n in version)
    dropped = {n for n, cats in installed.items() if "version" in cats} - version
    assert {"bacnet-info", "enip-info", "omron-info", "http-server-header", "fingerprint-strings"} <= dropped
    # every other script is still there: the run's --script selects from the same database
    assert {n: c for n, c in installed.items() if "version" not in c} == {n: c for n, c in mine.items()
                                                                       if "version" not in c}


@needs_installed_nmap
def test_an_excluded_script_is_no_version_script_of_the_run(tmp_path):
    ct = _compiled(safe_only=False, excluded_vendor_checks=["nmap:script:http-server-header"])
    argv = build_argv(ct, ["127.0.0.23"], tmp_path / "scan.xml")

    assert "-sV" not in render_argv(ct)
    version = {n for n, cats in _private_db(argv).items() if "version" in cats}
    assert "http-server-header" not in version
    assert "fingerprint-strings" in version  # not safe, but safe checks only is off


@needs_installed_nmap
def test_where_rendering_allows_version_detection_a_run_keeps_every_version_script(tmp_path):
    ct = _compiled(safe_only=False)
    argv = build_argv(ct, ["127.0.0.23"], tmp_path / "scan.xml")

    assert "-sV" in render_argv(ct)
    assert _private_db(argv) == _installed_db()  # no version script is broadcast, external or a name lookup


def test_a_template_that_excludes_the_version_category_gets_no_service_probe_anywhere(tmp_path):
    for checks in ({"safe_only": True}, {"safe_only": False}):
        ct = _compiled(excluded_vendor_checks=["nmap:category:version"], **checks)
        argv = build_argv(ct, ["127.0.0.23"], tmp_path / "scan.xml")
        assert "-sV" not in argv and "--datadir" not in argv and "-sV" not in render_argv(ct)


def test_a_template_without_checks_gets_no_service_probe(tmp_path):
    argv = build_argv(_compiled(enabled=False), ["127.0.0.23"], tmp_path / "scan.xml")

    assert "-sV" not in argv and "--script" not in argv


@needs_installed_nmap
def test_a_command_with_its_own_version_detection_gets_the_confined_database_too(tmp_path):
    argv = build_argv(["nmap", "-sT", "-p", "T:80", "-sV"], ["127.0.0.23"], tmp_path / "scan.xml")

    version = {n: c for n, c in _private_db(argv).items() if "version" in c}
    assert not any(c & {"broadcast", "external"} for c in version.values())
    assert "fingerprint-strings" in version  # nothing else narrows a bare -sV


def test_a_replay_keeps_its_own_data_directory(tmp_path):
    argv = build_argv(["nmap", "-sT", "-p", "T:80", "-sV", "--datadir", str(tmp_path / "replay")], ["127.0.0.23"],
                      tmp_path / "scan.xml")

    assert argv.count("--datadir") == 1 and not (tmp_path / "scan.nmap-data").exists()


def test_without_nmap_s_script_database_a_version_run_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("scanguard_nmap.scriptdb.find_data_file", lambda *a, **k: None)

    with pytest.raises(ScanguardError, match="script database"):
        build_argv(_compiled(safe_only=True), ["127.0.0.23"], tmp_path / "scan.xml")


def test_an_unreadable_script_database_line_is_named():
    with pytest.raises(ScanguardError, match=r"db:2: not a script database entry"):
        read_script_db('Entry { filename = "a.nse", categories = { "safe", } }\nEntry { filename = "b.nse" }\n', "db")


@pytest.mark.parametrize(("rule", "name", "cats", "selected"), [
    ("safe and not (intrusive or fcrdns)", "banner", {"safe", "discovery"}, True),
    ("safe and not (intrusive or fcrdns)", "fcrdns", {"safe", "discovery"}, False),
    ("SAFE", "banner", {"safe"}, True),  # categories are keywords: any case
    ("http-*", "http-title", {"default"}, True),
    ("HTTP-*", "http-title", {"default"}, False),  # names are case-sensitive
    ("http-?itle", "http-title", {"default"}, False),  # '*' is nmap's only wildcard
    ("all and not version", "rpcinfo", {"safe", "version"}, False),
    ("+(safe) and http-title.nse", "http-title", {"safe"}, True),
    ("vuln,safe", "x", {"safe"}, True),
])
def test_a_rule_selects_a_script_as_nmap_decides_it(rule, name, cats, selected):
    assert Selection(parse_rules(rule)).selects(name, frozenset(cats)) is selected


@pytest.mark.nmap
def test_real_nmap_can_choose_only_the_kept_version_scripts(real_nmap, tmp_path):
    # nmap's own answer: with -sV it adds the rule "version"; what that rule selects from the
    # private database is every version script it can run
    argv = build_argv(_compiled(safe_only=True, excluded_categories=GENTLE), ["127.0.0.23"], tmp_path / "scan.xml")
    datadir = argv[argv.index("--datadir") + 1]

    def chosen(*args: str) -> dict[str, set[str]]:
        r = real_nmap.run([*args, "--script-help", "version"])
        assert r.refused() is None, r.refused()
        return {m.group(1): set(m.group(2).split()) for m in re.finditer(r"^(\S+)\nCategories: (.*)$", r.stdout, re.M)}

    private, installed = chosen("--datadir", datadir), chosen()
    assert private and all("safe" in cats for cats in private.values())
    assert any("safe" not in cats for cats in installed.values())  # what -sV runs without it
    assert set(private) == {n for n, cats in installed.items() if "safe" in cats}
