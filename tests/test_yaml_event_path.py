"""The two ways scanguard.yamlsrc reads a file with libyaml give the same answers: the event path
(the plain case, fast) and the node path (everything, with lines). Any text either gives equal
data, key kinds and lines through both, or the same error on the same line."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanguard import yamlsrc
from scanguard.yamlsrc import YAMLSourceError, parse, parse_nodes

pytestmark = pytest.mark.skipif("c" not in yamlsrc.LOADERS, reason="libyaml is not installed: there is no event path")


def _answer(text: str, path) -> tuple:
    try:
        doc = path(text, "c")
    except YAMLSourceError as e:
        return "error", str(e), e.line
    return "data", repr(doc.data), doc.text_keys, sorted(doc.lines.items(), key=repr)


def _same(text: str) -> None:
    assert _answer(text, parse) == _answer(text, parse_nodes), text


# scalars as they are written in workspace files, and the ones YAML 1.1 and 1.2 read differently
WORDS = st.sampled_from([
    "a", "pump", "no", "yes", "on", "off", "true", "False", "null", "~", "", "22:00", "0443", "0o17", "0x1bb",
    "7100", "-3", "7100.0", ".inf", "-.inf", ".nan", "1e3", "2026-03-01", "10.0.0.0/8", "<<", "a b", "1_000",
    "'quoted'", '"dq"', "é", "x: y", "- z", "#c", "&a", "*a", "!!int 3", "! text", "[1, 2]", "{a: 1}", "|",
])
DATA = st.recursive(
    st.one_of(WORDS, st.integers(-5, 70000), st.booleans(), st.none(), st.floats(allow_nan=True)),
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.one_of(WORDS, st.integers(0, 9)), kids,
                                                                         max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DATA, st.booleans(), st.sampled_from([None, "'", '"']))
def test_dumped_data_reads_the_same_on_both_paths(data, flow, style):
    _same(yaml.safe_dump(data, default_flow_style=flow, default_style=style, allow_unicode=True, sort_keys=False))


LINES = st.sampled_from([
    "a: 1", "b: no", "c: 22:00", "a: 2", "<<: {x: 1}", "'<<': 1", "d: &x [1]", "e: *x", "f: !!int '3'",
    "g: ! 7", "h: !!str 5", "? [k]", ": v", "i:", "  - 1", "  - j: 2", "  k: 3", "l: [1, {m: 2}]", "n: {o: [p]}",
    "---", "...", "q: 'x'", 'r: "y"', "s: |", "  text", "- t", "u: - v", "w: [", "x: ]", "1: one", "~: nothing",
    "y: 'a\tb'", "z: @", "# a comment", "", "aa: &y", "bb: *y", "cc: &z {dd: *z}", "ee: %", "ff: !local x",
])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=8))
def test_any_lines_read_the_same_or_fail_the_same_on_both_paths(lines):
    _same("\n".join(lines) + "\n")


@pytest.mark.parametrize("text", [
    "a: [" * (yamlsrc.MAX_DEPTH + 2) + "]" * (yamlsrc.MAX_DEPTH + 2) + "\n",  # too deep: refused
    "a: [" * (yamlsrc.MAX_DEPTH - 2) + "]" * (yamlsrc.MAX_DEPTH - 2) + "\n",  # deep, within the bound
    "", "# only a comment\n", "plain\n", "- 1\n- 2\n", "a: 1\n---\nb: 2\n", "a: 1\nb: '\x00'\n",
])
def test_edge_cases_read_the_same_on_both_paths(text):
    _same(text)


def test_the_plain_case_is_read_from_events_and_its_lines_come_when_asked():
    doc = parse("id: pump\nname: Pump\nlocation:\n  hosts: [10.0.0.1]\n", "c")
    assert doc._node is None  # the event path took it: no node tree was built
    assert doc.data == {"id": "pump", "name": "Pump", "location": {"hosts": ["10.0.0.1"]}}
    assert doc.line_for(("location", "hosts", 0)) == 4
