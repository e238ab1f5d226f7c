"""A profile's fingerprint: the first form keeps working, evidence rules are checked when the
profile loads, and a mistake names the file and field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scanguard.model.fingerprint import Fingerprint
from scanguard.workspace import check_workspace, load_workspace
from tests.helpers import make_workspace

PROFILE = """
id: pos
name: Payment terminals
location:
  cidrs: [10.20.50.0/26]
fingerprint:
{fingerprint}
"""


def _problems(tmp_path, fingerprint: str) -> list[str]:
    root = make_workspace(tmp_path / "ws", {"pos.yaml": PROFILE.replace("{fingerprint}", fingerprint)})
    ws, problems = check_workspace(root)
    return [p.text() for p in problems.errors]


def test_the_first_form_reads_as_rules_with_default_weights():
    fp = Fingerprint(mac_ouis=["00-03-81"], open_ports="7100/tcp, 443/tcp", banners=["Ingenico TMS"])

    assert [(r.kind, r.weight) for r in fp.rules()] == [("port", 1), ("port", 1), ("banner", 2), ("mac_oui", 2)]
    assert fp.threshold() == 4  # every open port plus one identifying rule


def test_a_first_form_banner_is_a_literal_not_a_pattern():
    (rule,) = Fingerprint(banners=["Lane/5000 (v1.2)"]).rules()

    assert rule.regex().search("model Lane/5000 (v1.2) ready")
    assert not rule.regex().search("Lane/5000 v1.2")


def test_every_example_profile_still_loads(example_workspace):
    ws = load_workspace(example_workspace)

    assert any(r.kind == "tls_subject" for r in ws.profile("pos-terminal").fingerprint.rules())


def test_evidence_rules_take_patterns_ports_weights_and_required():
    fp = Fingerprint(evidence=[{"product": "^Ingenico TMS$", "port": "7100/tcp", "required": True, "weight": 5},
                               {"mac_oui": ["00:03:81", "000B4F"]}], min_score=5)
    product, oui = fp.rules()

    assert (product.kind, product.required, product.weight, product.port.text()) == ("product", True, 5, "7100/tcp")
    assert oui.value == ("00:03:81", "00:0B:4F") and fp.threshold() == 5


def test_a_pattern_that_is_not_a_regular_expression_is_refused_with_file_and_field(tmp_path):
    problems = _problems(tmp_path, '  evidence:\n    - banner: "Ingenico (TMS"\n')

    assert any("profiles/pos.yaml" in p and "fingerprint.evidence" in p and "not a regular expression" in p
               for p in problems), problems


def test_a_rule_with_two_kinds_of_evidence_is_refused():
    with pytest.raises(ValidationError, match="one kind of evidence per rule"):
        Fingerprint(evidence=[{"banner": "x", "product": "y"}])


def test_a_rule_without_evidence_is_refused():
    with pytest.raises(ValidationError, match="names no evidence"):
        Fingerprint(evidence=[{"weight": 3}])


def test_a_min_score_no_host_could_reach_is_refused(tmp_path):
    problems = _problems(tmp_path, "  open_ports: [443/tcp]\n  banners: [x]\n  min_score: 9\n")

    assert any("min_score 9 is more than all its evidence weighs (3)" in p for p in problems), problems


def test_a_mac_oui_bound_to_a_port_is_refused():
    with pytest.raises(ValidationError, match="belongs to the host"):
        Fingerprint(evidence=[{"mac_oui": "00:03:81", "port": "443/tcp"}])
