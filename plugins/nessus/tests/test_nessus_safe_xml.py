"""XML from outside is parsed without trusting it: entity bombs and external entities are refused."""

import io

import pytest

from scanguard import UnsafeInput
from scanguard_nessus.plugin import parse
from scanguard_tenable_policy.results import parse_nessus

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<NessusClientData_v2><Report name="x"><ReportHost name="&lol3;"><HostProperties/></ReportHost></Report></NessusClientData_v2>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<NessusClientData_v2><Report name="x"><ReportHost name="&xxe;"><HostProperties/></ReportHost></Report></NessusClientData_v2>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE NessusClientData_v2 SYSTEM "http://127.0.0.1:1/evil.dtd">
<NessusClientData_v2/>
"""
HARMLESS_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE NessusClientData_v2>
<NessusClientData_v2><Report name="x"><ReportHost name="10.0.0.1"><HostProperties/></ReportHost></Report></NessusClientData_v2>
"""


@pytest.mark.parametrize("doc", [BOMB, EXTERNAL, EXTERNAL_DTD], ids=["entity-bomb", "external-entity", "external-dtd"])
def test_results_parser_refuses_hostile_xml_naming_the_file(doc):
    with pytest.raises(UnsafeInput, match="scan.nessus.*refused"):
        list(parse_nessus(io.BytesIO(doc), "scan.nessus"))


@pytest.mark.parametrize("doc", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_policy_parser_refuses_hostile_xml(doc):
    with pytest.raises(UnsafeInput, match="refused"):
        parse(doc)


def test_entity_declarations_behind_a_comment_are_still_found():
    doc = BOMB.replace(b"<!DOCTYPE lolz [", b"<!DOCTYPE lolz [ <!-- <a> ]> -->")
    with pytest.raises(UnsafeInput):
        list(parse_nessus(io.BytesIO(doc), "scan.nessus"))


def test_a_doctype_without_entities_is_fine():
    assert [h.address for h in parse_nessus(io.BytesIO(HARMLESS_DOCTYPE), "scan.nessus")] == ["10.0.0.1"]


def test_malformed_xml_is_refused_clearly():
    with pytest.raises(UnsafeInput, match="scan.nessus: not well-formed"):
        list(parse_nessus(io.BytesIO(b"<NessusClientData_v2><Report>"), "scan.nessus"))
