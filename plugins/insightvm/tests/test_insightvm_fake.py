"""The fake console behaves like the API the client relies on (so the client tests mean something)."""

import pytest
import requests

from scanguard_testbed_scanners.insightvm import FakeInsightVM


def _get(fake, path, **kw):
    return requests.get(fake.url + path, auth=(fake.username, fake.password), verify=fake.ca_bundle, timeout=5, **kw)


def test_credentials_are_random_per_instance():
    with FakeInsightVM() as a, FakeInsightVM() as b:
        assert a.password != b.password and a.url != b.url


def test_built_in_templates_are_listed(fake):
    ids = {r["id"] for r in _get(fake, "/api/3/scan_templates").json()["resources"]}
    assert "full-audit-without-web-spider" in ids


def test_built_in_templates_are_read_only(fake):
    r = requests.delete(fake.url + "/api/3/scan_templates/discovery", auth=(fake.username, fake.password),
                        verify=fake.ca_bundle, timeout=5)
    assert r.status_code == 400 and "discovery" in fake.templates


def test_listing_is_paged_with_a_next_link(fake):
    body = _get(fake, "/api/3/scan_templates", params={"size": 3}).json()
    assert body["page"]["totalPages"] == 2 and any(link["rel"] == "next" for link in body["links"])


@pytest.mark.fixtures
def test_invalid_bodies_are_refused_in_the_console_shape(fake, fixtures_dir):
    assert fake.validating
    r = requests.post(fake.url + "/api/3/scan_templates", json={"name": "x", "discoveryOnly": "yes"},
                      auth=(fake.username, fake.password), verify=fake.ca_bundle, timeout=5)
    assert r.status_code == 400 and r.json()["status"] == 400 and "discoveryOnly" in r.json()["message"]


def test_without_the_spec_bodies_are_not_validated(tmp_path):
    with FakeInsightVM(validate=False) as fake:
        r = requests.post(fake.url + "/api/3/scan_templates", json={"name": "x", "discoveryOnly": "yes"},
                          auth=(fake.username, fake.password), verify=fake.ca_bundle, timeout=5)
        assert r.status_code == 200 and not fake.validating


def test_fail_at_counts_from_the_next_request(fake):
    _get(fake, "/api/3/scan_templates/discovery")
    fake.fail_at(2, "503")
    codes = [_get(fake, "/api/3/scan_templates/discovery").status_code for _ in range(3)]
    assert codes == [200, 503, 200]


def test_fail_next_can_be_limited_to_a_method(fake):
    fake.fail_next("502", method="PUT")
    assert _get(fake, "/api/3/scan_templates/discovery").status_code == 200


def test_requests_are_logged_with_their_status(fake):
    _get(fake, "/api/3/scan_templates/nope")
    assert fake.requests == [("GET", "/api/3/scan_templates/nope", 404)]


def test_a_reset_sends_no_response(fake):
    fake.fail_next("reset")
    with pytest.raises(requests.ConnectionError):
        _get(fake, "/api/3/scan_templates")
    assert fake.requests[-1][2] == 0


def test_unknown_fault_kinds_are_refused(fake):
    with pytest.raises(ValueError, match="fault kind"):
        fake.fail_next("418")


def test_clear_faults_forgets_pending_faults(fake):
    fake.fail_next("503")
    fake.fail_at(1, "500")
    fake.clear_faults()
    assert _get(fake, "/api/3/scan_templates/discovery").status_code == 200


def test_hand_made_templates_carry_no_marker(fake):
    template_id = fake.add_template("Made by hand", {"checks": {"unsafe": True}})
    assert fake.template(template_id)["name"] == "Made by hand" and "description" not in fake.template(template_id)


def test_writes_lists_only_state_changes(fake):
    _get(fake, "/api/3/scan_templates")
    requests.delete(fake.url + "/api/3/scan_templates/nope", auth=(fake.username, fake.password),
                    verify=fake.ca_bundle, timeout=5)
    assert fake.writes() == [("DELETE", "/api/3/scan_templates/nope", 404)]
