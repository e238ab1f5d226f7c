"""The contract is with the real product: the Tenable VM client replayed against the recorded real
exchanges of ../shared/fixtures/tenableio (policies and exclusions), and the fake held to the same
shapes."""

from __future__ import annotations

from datetime import datetime

import pytest

from scanguard import ScannerConfig
from scanguard_tenable_policy.exclusion import pieces_of, exclusion_document
from scanguard_tenableio.client import TenableIOClient
from scanguard_tenableio.exclusions import body_of, piece_of
from scanguard_tenableio.plugin import parse
from tests.fakes.replay import ReplayServer, load_exchanges

pytestmark = pytest.mark.fixtures
MARKER = "scanguard:managed name=exclusion:window:x sha256=" + "0" * 64


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("RK_A", "replay-access")
    monkeypatch.setenv("RK_S", "replay-secret")


def _client(url: str) -> TenableIOClient:
    return TenableIOClient(ScannerConfig(name="replay", type="tenableio", url=url, timeout_s=5,
                                         credentials={"access_key": "RK_A", "secret_key": "RK_S"}))


def _same_shape(recorded, sent, where="body") -> list[str]:
    """Every key the recorded body has, the sent one has too, with a value of the same JSON kind."""
    if isinstance(recorded, dict):
        if not isinstance(sent, dict):
            return [f"{where}: an object was recorded"]
        return [p for k, v in recorded.items() for p in
                ([f"{where}.{k}: missing"] if k not in sent else _same_shape(v, sent[k], f"{where}.{k}"))]
    if recorded is None or sent is None:
        return []
    return [] if isinstance(sent, type(recorded)) else [f"{where}: {type(sent).__name__}, recorded {type(recorded).__name__}"]


def test_the_recorded_policy_configuration_replays_through_the_tenableio_client(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "configure_policy.json")
    post, _get, put, _get2, _delete = interactions
    with ReplayServer(interactions, match_body=True) as replay:
        c = _client(replay.url)
        pid = c.create_policy(post["request_body"])
        c.get_policy(pid)
        c.put_policy(pid, put["request_body"])
        after = c.get_policy(pid)
        c.delete(pid)
        assert replay.done(), replay.mismatches
    assert pid == "13329" and after["settings"]["name"] == "MODIFIED"
    t = parse(after)  # family state and port scanners unknown from this view: read as the less safe
    assert t.checks.enabled and t.ports.contains(7100) and t.ports.udp


def test_the_recorded_policy_list_has_nothing_scanguard_manages(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "policy_list.json")
    with ReplayServer(interactions) as replay:
        c = _client(replay.url)
        pid = c.create_policy(interactions[0]["request_body"])
        assert c.list_managed() == []
        c.delete_policy(pid)
        assert replay.done(), replay.mismatches


def test_the_recorded_empty_exclusion_list_holds_no_document(fixtures_dir, keys):
    with ReplayServer(load_exchanges(fixtures_dir / "tenableio" / "exclusions_list.json")) as replay:
        assert _client(replay.url).list_exclusions() == []
        assert replay.done(), replay.mismatches


def test_the_recorded_weekly_exclusion_replays_and_reads_as_a_weekly_span(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "exclusions_create_weekly_exclusion.json")
    _tz, post, _delete = interactions
    with ReplayServer(interactions, match_body=True) as replay:
        c = _client(replay.url)
        assert {"Europe/Berlin", "Etc/UTC", "UTC"} <= c.timezones()
        made = c.post_exclusion(post["request_body"])
        c.remove_exclusion(made["id"])
        assert replay.done(), replay.mismatches
    piece = piece_of(made)
    assert piece.members == ("127.0.0.1",) and not piece.always
    # Thursday 2018-12-06 23:19:39 to 00:19:39, repeated on Mondays, Wednesdays and Fridays
    assert (piece.span.tz, piece.span.days, piece.span.start, piece.span.seconds) == (
        "Etc/UTC", ("mon", "wed", "fri"), "23:19:39", 3600)


def test_what_the_client_sends_has_the_recorded_exclusions_shape(fixtures_dir, plan):
    post = load_exchanges(fixtures_dir / "tenableio" / "exclusions_create_weekly_exclusion.json")[1]
    plc = next(e for e in plan.exclusions if e.name == "window:plc-energy-center")
    for piece in pieces_of(exclusion_document(plc), MARKER):
        sent = body_of(plc.name, piece)
        assert _same_shape(post["request_body"], sent) == []
        assert datetime.strptime(sent["schedule"]["starttime"], "%Y-%m-%d %H:%M:%S")


def test_the_recorded_one_time_exclusion_and_its_edit_replay_and_block_nothing_weekly(fixtures_dir, keys):
    interactions = load_exchanges(fixtures_dir / "tenableio" / "exclusions_edit_success.json")
    _tz, post, _get, put, _delete = interactions
    with ReplayServer(interactions, match_body=True) as replay:
        c = _client(replay.url)
        c.timezones()
        made = c.post_exclusion(post["request_body"])
        current = c.exclusion(made["id"])
        c.put_exclusion(made["id"], put["request_body"])
        c.remove_exclusion(made["id"])
        assert replay.done(), replay.mismatches
    assert current == made
    # an hour on one day in 2018: nothing a weekly schedule can count on
    assert piece_of(current).span is None and not piece_of(current).always


# --- the fake answers in the recorded shapes ----------------------------------------------------

def test_the_fakes_exclusions_have_the_recorded_keys(fixtures_dir, client, fake, plan):
    recorded = load_exchanges(fixtures_dir / "tenableio" / "exclusions_create_weekly_exclusion.json")[1]["response_body"]
    plc = next(e for e in plan.exclusions if e.name == "window:plc-energy-center")
    made = client.post_exclusion(body_of(plc.name, pieces_of(exclusion_document(plc), MARKER)[0]))
    assert set(made) == set(recorded) and set(made["schedule"]) == set(recorded["schedule"])
    assert list(made["schedule"]) == list(recorded["schedule"])  # in the recorded order, too
    assert set(made["schedule"]["rrules"]) <= {"freq", "interval", "byweekday", "bymonthday"}
    (listed,) = client.exclusions()
    assert listed == client.exclusion(made["id"]) == made


def test_the_fake_offers_the_recorded_time_zones(fixtures_dir, client):
    recorded = load_exchanges(fixtures_dir / "tenableio" / "exclusions_create_weekly_exclusion.json")[0]["response_body"]
    assert client.timezones() == {t["value"] for t in recorded["timezones"]}
