"""The project's fake gvmd answers as the real gvmd does: every command recorded against a real gvmd
26 (../shared/fixtures/gvm/gmp-real-answers.jsonl) is sent again, through python-gvm over TLS, to
a fake without a feed (as the recorded gvmd was), and must get the same answer."""

from __future__ import annotations

import pytest
from gvm.connections import TLSConnection
from gvm.protocols.gmp import Gmp
from gvm.transforms import EtreeTransform

from scanguard_testbed_scanners.gvm import FakeGvmd

from gmp_scenario import load_records, normalise, replay, steps

pytestmark = pytest.mark.fixtures


@pytest.fixture(scope="module")
def records(fixtures_dir):
    return load_records(fixtures_dir)


@pytest.fixture(scope="module")
def observed():
    with FakeGvmd(feed=False) as fake:
        conn = TLSConnection(hostname=fake.host, port=fake.port, timeout=10, cafile=fake.ca_bundle)
        with Gmp(conn, transform=EtreeTransform()) as gmp:
            return replay(gmp, fake.username, fake.password)


def test_the_scenario_sends_every_recorded_command_in_order(records):
    assert [cmd for cmd, _ in steps()] == [r["cmd"] for r in records] and len(records) == 130


@pytest.mark.parametrize("n", range(130))
def test_the_fake_answers_as_the_real_gvmd_did(records, observed, n):
    assert normalise(observed)[n] == normalise(records)[n]
