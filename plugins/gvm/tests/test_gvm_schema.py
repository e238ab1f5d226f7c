"""The GMP commands validate against gvmd's RELAX NG schema: an advisory check next to the
exact-bytes assertions in test_gvm_render.py.

The schema is documentation-grade (fixtures/SOURCES.md): it wrongly rejects create_port_list
without a response element (filtered when those are exactly the messages) and alive_tests
without sub-elements (worked around: validated in the schema's form). Port ranges carry T:/U:
on every range, so that false rejection never arises."""

import copy
import re

import pytest
from lxml import etree
from scanguard import CompiledTemplate, ScanTemplate, Targets, compile_plan, load_workspace
from scanguard_gvm.commands import gmp_commands
from scanguard_gvm.document import render

PORT_LIST_FALSE_REJECTION = [
    "Expecting an element get_port_lists_response, got nothing",
    "Invalid sequence in interleave",
    "Element create_port_list failed to validate content",
]


def alive_tests_as_sub_elements(cmd):
    """The schema's form of alive_tests ("ICMP & ARP Ping" -> <alive_test>ICMP Ping</alive_test>...)."""
    cmd = copy.deepcopy(cmd)
    el = cmd.find("alive_tests")
    if el is not None and el.text:
        parts = re.split(r", | & ", el.text.strip())
        el.text = None
        for part in parts:
            full = part if part.endswith(("Ping", "Alive", "Default")) else part + " Ping"
            etree.SubElement(el, "alive_test").text = full
    return cmd


@pytest.fixture(scope="module")
def schema(fixtures_dir):
    return etree.RelaxNG(etree.parse(str(fixtures_dir / "gvm" / "GMP-commands.rng")))


def rejections(schema, cmd) -> list[str]:
    """What the schema says against one command, its known false rejections worked around
    (alive_tests) or filtered when they are exactly the known ones (create_port_list)."""
    if cmd.tag == "create_target":
        cmd = alive_tests_as_sub_elements(cmd)
    if schema.validate(cmd):
        return []
    messages = [e.message for e in schema.error_log]
    if cmd.tag == "create_port_list" and messages == PORT_LIST_FALSE_REJECTION:
        return []
    return messages


@pytest.mark.fixtures
def test_every_command_of_the_example_plan_validates(schema, example_workspace):
    for ct in compile_plan(load_workspace(example_workspace)).templates:
        for cmd in gmp_commands(render(ct)):
            assert rejections(schema, cmd) == [], (ct.name, etree.tostring(cmd))


@pytest.mark.fixtures
def test_a_port_list_with_a_prefix_on_every_range_needs_no_filter(schema):
    ct = CompiledTemplate(name="t", base="t", template=ScanTemplate(name="t", ports="1-10, 53/udp"), targets=Targets())
    cmd = gmp_commands(render(ct))[0]
    schema.validate(cmd)
    assert not [e.message for e in schema.error_log if "port_range" in e.message]


@pytest.mark.fixtures
def test_the_schema_is_not_vacuous_a_target_without_port_list_is_rejected(schema):
    cmd = etree.fromstring("<create_target><name>x</name><hosts>10.0.0.1</hosts></create_target>")
    assert not schema.validate(cmd)


@pytest.mark.fixtures
def test_the_schema_rejects_a_preference_value_that_is_not_base64(schema):
    cmd = etree.fromstring('<modify_config config_id="daba56c8-73ec-11df-a475-002264764cea"><preference>'
                           "<name>safe_checks</name><value>not base64!</value></preference></modify_config>")
    assert not schema.validate(cmd)
