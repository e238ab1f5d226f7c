"""Records built by `scanguard.model.base.trusted` (compile's hot path) behave as validated ones,
though the records of one frozen class share one set of field names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scanguard.model.base import trusted
from scanguard.model.constraints import Provenance


def _prov(profile: str) -> Provenance:
    return trusted(Provenance, profile=profile, kind="rate", item="packets_per_second", reason="slow stack",
                   evidence=(), scope="assets", ports=None, source=None, line=None)


def test_a_trusted_record_equals_the_validated_one_and_its_copies_leave_the_others_alone():
    a, b = _prov("a"), _prov("b")
    assert a == Provenance(profile="a", kind="rate", item="packets_per_second", reason="slow stack")
    assert a.model_fields_set == set(Provenance.model_fields)
    changed = a.model_copy(update={"item": "timeout_s"})
    assert changed.item == "timeout_s" and a.item == b.item == "packets_per_second"
    assert a.model_fields_set == b.model_fields_set == set(Provenance.model_fields)
    with pytest.raises(ValidationError):
        a.item = "timeout_s"  # frozen: the shared set is never added to
    assert a.model_fields_set == set(Provenance.model_fields) and hash(a) != hash(b)
