"""Input that would silently change meaning, and hostile YAML: every such file is read as written
(YAML 1.2) or refused with its file, line and the expected form; never a traceback."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from datetime import date, time

import pytest

from scanguard.model.ports import PortSet
from scanguard.workspace import check_workspace
from scanguard.yamlsrc import LOADERS, MAX_DEPTH, YAMLSourceError, parse
from tests.helpers import make_workspace

PARSERS = sorted(LOADERS)  # "c" (libyaml) where installed, and always "python"

PROFILE_HEAD = """\
id: pump
name: Infusion pumps
location:
  cidrs: [10.1.0.0/24]
"""


def _load(tmp_path, body: str, toml: str | None = None):
    """(workspace or None, problems) for one profile made of PROFILE_HEAD and `body`."""
    kw = {"toml": toml} if toml is not None else {}
    make_workspace(tmp_path, {"pump.yaml": PROFILE_HEAD + textwrap.dedent(body)}, **kw)
    ws, problems = check_workspace(tmp_path, today=date(2026, 11, 26))
    return ws, [p for p in problems.items if p.severity == "error"]


def _one_error(tmp_path, body: str):
    ws, errors = _load(tmp_path, body)
    assert ws is None and len(errors) == 1, errors
    (p,) = errors
    assert p.file == "profiles/pump.yaml"
    return p


# -- ports ----------------------------------------------------------------------------------------
def _excluded(ports: str) -> str:
    """A profile body excluding `ports` (written as given), on line 7 of the file."""
    return f"constraints:\n  excluded_ports:\n    - ports: {ports}\n      reason: crashes\n"


@pytest.mark.parametrize("ports", ['{TCP: "7100"}', '{both: "502"}', '{tcp: "80", sctp: "7100"}'])
def test_a_port_map_with_a_key_other_than_tcp_or_udp_is_refused_never_dropped(tmp_path, ports):
    p = _one_error(tmp_path, _excluded(ports))
    assert p.line == 7 and p.field == "constraints.excluded_ports[0].ports"
    assert "the keys are tcp and udp" in p.message


def test_a_port_map_that_puts_udp_ports_under_tcp_is_refused(tmp_path):
    p = _one_error(tmp_path, _excluded('{tcp: "53/udp"}'))
    assert p.line == 7 and "udp ports" in p.message


@pytest.mark.parametrize("ports", ["7100.0", "{tcp: 7100.5}", "[7100.0]", "true", "1_000", "'+80'"])
def test_a_port_that_is_not_a_whole_number_is_refused_with_the_expected_form(tmp_path, ports):
    p = _one_error(tmp_path, _excluded(ports))
    assert p.line == 7 and p.field == "constraints.excluded_ports[0].ports"
    assert "like 80 or 1-1024" in p.message or "7100/tcp, 53/udp, 1-1024" in p.message


def test_a_leading_zero_port_is_the_decimal_port_as_written_not_octal(tmp_path):
    ws, errors = _load(tmp_path, _excluded("0443"))
    assert not errors
    assert ws.profiles[0].constraints.excluded_ports[0].ports == PortSet.parse("443/tcp")


def test_ping_ports_in_a_map_take_the_same_rules(tmp_path):
    p = _one_error(tmp_path, """\
        constraints:
          discovery:
            ping_ports: {TCP: "80"}
            reason: fragile
        """)
    assert p.line == 7 and p.field == "constraints.discovery.ping_ports"


# -- times, dates, booleans, numbers, text -------------------------------------------------------------
def test_an_unquoted_clock_time_is_the_time_as_written_not_base_60_seconds(tmp_path):
    ws, errors = _load(tmp_path, """\
        constraints:
          windows:
            allowed:
              - {days: [sat], start: 22:00, end: 05:30, tz: Europe/Berlin}
            reason: night only
        """)
    assert not errors
    (window,) = ws.profiles[0].constraints.windows.allowed
    assert (window.start, window.end) == (time(22, 0), time(5, 30))


@pytest.mark.parametrize("start", ["79200", "22.5", "'25:00'", "'10pm'"])
def test_a_time_that_is_not_a_clock_time_is_refused(tmp_path, start):
    p = _one_error(tmp_path, f"""\
        constraints:
          windows:
            allowed:
              - {{days: [sat], start: {start}, end: "23:00"}}
            reason: night only
        """)
    assert p.line == 8 and p.field == "constraints.windows.allowed[0].start"
    assert "like 22:00" in p.message


def test_a_weekday_must_be_a_weekday_not_a_word_that_starts_like_one(tmp_path):
    p = _one_error(tmp_path, """\
        constraints:
          windows:
            allowed:
              - {days: [monkey], start: "22:00", end: "23:00"}
            reason: night only
        """)
    assert "unknown weekday 'monkey'" in p.message


@pytest.mark.parametrize("word", ["no", "off", "yes", "on"])
def test_yaml_1_1_booleans_in_a_true_false_field_are_refused_with_the_fix(tmp_path, word):
    p = _one_error(tmp_path, f"""\
        constraints:
          discovery:
            icmp: {word}
            reason: fragile
        """)
    assert p.line == 7 and p.field == "constraints.discovery.icmp"
    assert f"found the text '{word}'" in p.message and "write true or false" in p.message


@pytest.mark.parametrize("word", ["no", "off", "yes", "on"])
def test_yaml_1_1_boolean_words_in_a_text_field_are_the_text_as_written(tmp_path, word):
    ws, errors = _load(tmp_path, f"vendor: {word}\nnotes: {word}\n")
    assert not errors
    assert (ws.profiles[0].vendor, ws.profiles[0].notes) == (word, word)


def test_a_number_in_a_text_field_is_refused_with_a_hint_to_quote_it(tmp_path):
    p = _one_error(tmp_path, "firmware: 1.10\n")
    assert p.line == 5 and p.field == "firmware"
    assert "found the number 1.1" in p.message and "quotes" in p.message


@pytest.mark.parametrize("value, found", [("100.0", "the number 100.0"), ('"100"', "the text '100'"),
                                          ("true", "true (a boolean)")])
def test_a_count_must_be_a_whole_number_written_as_one(tmp_path, value, found):
    p = _one_error(tmp_path, f"""\
        constraints:
          rate:
            packets_per_second: {value}
            reason: slow stack
        """)
    assert p.line == 7 and p.field == "constraints.rate.packets_per_second"
    assert "expected a whole number" in p.message and found in p.message


RISK = """\
policy: never
risk_acceptance:
  accepted_by: CMIO
  accepted_on: {on}
  expires: 2027-03-01
  reason: restart risk
  compensating_controls: [ACL]
"""


def test_an_unquoted_date_is_the_date_as_written(tmp_path):
    ws, errors = _load(tmp_path, RISK.format(on="2026-03-01"))
    assert not errors
    assert ws.profiles[0].risk_acceptance.accepted_on == date(2026, 3, 1)


@pytest.mark.parametrize("on", ["20260301", "2026-13-01", "'1 March 2026'"])
def test_a_date_that_is_not_an_iso_date_is_refused(tmp_path, on):
    p = _one_error(tmp_path, RISK.format(on=on))
    assert p.line == 8 and p.field == "risk_acceptance.accepted_on"
    assert "2027-03-01" in p.message or "calendar day" in p.message


@pytest.mark.parametrize("line, expected", [
    ('tls = { verify = "no" }', "expected true or false, found the text 'no'"),
    ('timeout_s = "30"', "write the number without quotes"),
    ("timeout_s = nan", "finite number"),
    ("socket = 5", "expected a file path as text"),
])
def test_scanguard_toml_values_are_taken_only_in_their_written_form(tmp_path, line, expected):
    toml = f'[workspace]\nstate = "state.db"\n\n[scanners.g]\ntype = "gvm"\nurl = "https://127.0.0.1:9390"\n{line}\n'
    _, errors = _load(tmp_path, "", toml=toml)
    (p,) = errors
    assert p.file == "scanguard.toml" and p.line == 7 and expected in p.message


# -- what a workspace file may not hold ------------------------------------------------------------------
@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("text, line, message", [
    ("a: &x [1]\nb: *x\n", 2, "aliases (*name) are not allowed"),
    ("notes: &x [*x]\n", 1, "aliases (*name) are not allowed"),
    ("a: !!int '3'\n", 1, "explicit tags (!!int) are not allowed"),
    ("a: !!python/object:os.system x\n", 1, "explicit tags"),
    ("<<: {a: 1}\n", 1, "merge keys (<<) are not allowed"),
    ("? [a, b]\n: 1\n", 1, "a key must be a single word"),
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"),
    ("a: 1\nb: '\x00'\n", 2, "character #x0000 is not allowed"),
    ("a: [" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n", 1, "nested more than"),
])
def test_both_parsers_refuse_the_same_inputs_on_the_same_line(parser, text, line, message):
    with pytest.raises(YAMLSourceError) as e:
        parse(text, parser)
    assert e.value.line == line and message in str(e.value)


@pytest.mark.parametrize("parser", PARSERS)
def test_both_parsers_read_scalars_by_the_yaml_1_2_core_schema(parser):
    doc = parse("a: 22:00\nb: 0443\nc: no\nd: 2026-03-01\ne: 0o17\nf: 0x1bb\ng: 7100.0\nh: ~\ni: true\n"
                "j: '0443'\nk: 1_000\n", parser)
    assert doc.data == {"a": "22:00", "b": 443, "c": "no", "d": "2026-03-01", "e": 15, "f": 443, "g": 7100.0,
                        "h": None, "i": True, "j": "0443", "k": "1_000"}
    assert doc.line_for(("g",)) == 7


BILLION_LAUGHS = "id: lol\nname: lol\nnotes: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 9)}]\n" for p, k in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("name, text, line", [
    ("bomb.yaml", BILLION_LAUGHS, 4),
    ("loop.yaml", "id: loop\nname: loop\nnotes: &x [*x]\n", 3),
])
def test_alias_bombs_are_refused_with_the_line_in_bounded_memory_never_a_traceback(tmp_path, name, text, line):
    make_workspace(tmp_path, {name: text})
    limit = 1 << 30  # expanding the bomb takes gigabytes; refusing it, a few tens of megabytes

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "scanguard", "validate", "--workspace", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, preexec_fn=cap_memory)
    assert proc.returncode == 2, proc.stderr
    assert f"profiles/{name}:{line}:" in proc.stderr and "aliases (*name) are not allowed" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    make_workspace(tmp_path, {"big.yaml": "id: big\nname: big\nnotes: '" + "x" * (3 << 20) + "'\n"})
    ws, problems = check_workspace(tmp_path)
    (p,) = problems.errors
    assert ws is None and p.file == "profiles/big.yaml" and "larger than" in p.message


def test_a_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "profiles" / "latin.yaml").write_bytes(b"id: x\nname: Caf\xe9\n")
    ws, problems = check_workspace(tmp_path)
    (p,) = problems.errors
    assert ws is None and p.file == "profiles/latin.yaml" and "not UTF-8" in p.message
