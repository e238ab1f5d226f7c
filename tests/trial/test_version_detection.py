"""The vulnerability stage's checks are safe only, and nmap's version detection is among them:
real nmap, run by the trial's nmap adapter against a test-bed device whose service nmap does not
recognise, sends its service probes there and starts only safe scripts. The same command with nmap's installed
script database (what a plain ``-sV`` reads) starts version scripts that are not safe, so the
check would fail if the private database were lost."""

from __future__ import annotations

from scanguard import Constraints, PortSet
from scanguard.testbed import Personality, run_device
from scanguard.trial.stages import GENTLE_EXCLUSIONS, plan_stage
from scanguard_nmap.run import run_scan
from scanguard_nmap.scriptdb import installed_script_db, read_script_db

from .conftest import needs_nmap

pytestmark = needs_nmap

HTTP, HEARTBEAT = 3180, 23180
DEVICE = Personality.model_validate({
    "id": "lab-web", "name": "Lab device with a web page", "evidence": ["INC-TEST-5"],
    "services": [{"port": HTTP, "name": "http", "closes": "after-response",
                  "response": "HTTP/1.0 200 OK\r\nServer: LabDev/1.0\r\nContent-Type: text/html\r\n"
                              "Content-Length: 26\r\n\r\n<title>Lab device</title>\n"}],
    "heartbeat": HEARTBEAT,
    "recovery": {"mode": "reboot", "delay_s": 0.3},
})


def _scripts(run) -> set[str]:
    return {e.check_id for e in run.activity if e.kind == "start" and e.check_id}


def test_the_checks_send_the_service_probes_and_start_no_script_that_is_not_safe(nmap_vendor, tmp_path):
    plan, = plan_stage("vulnerability", target="127.0.0.228", constraints=Constraints(), profile="lab-web",
                       survey=PortSet(), ping_ports=PortSet(), open_ports=(HTTP,))
    categories = {e.name: e.categories for e in read_script_db(installed_script_db().read_text())}
    with run_device(DEVICE, "127.0.0.228"):
        run = nmap_vendor.run(plan.compiled, list(plan.targets), out_dir=tmp_path, name="checks", timeout_s=120)
        # the same command with the installed script database: what -sV alone would run
        argv = [*run.argv[1:run.argv.index("--datadir")], "--datadir", str(installed_script_db().parent.parent)]
        plain = run_scan(argv, list(plan.targets), out_dir=tmp_path, name="plain", timeout_s=120)

    t = plan.compiled.template
    assert t.checks.safe_only and GENTLE_EXCLUSIONS <= t.checks.excluded_categories
    assert "-sV" in run.argv and not run.timed_out
    probes = {e.probe for e in run.activity if e.phase == "service" and e.kind == "probe" and e.port == HTTP}
    assert "GetRequest" in probes  # nmap's service probes reached the device's port
    started = _scripts(run)
    assert "banner" in started  # the safe scripts ran
    assert all("safe" in categories[s] for s in started), sorted(s for s in started if "safe" not in categories[s])
    unsafe_version = {s for s in _scripts(plain) if "version" in categories[s] and "safe" not in categories[s]}
    assert unsafe_version  # e.g. fingerprint-strings: -sV runs it whatever --script says
    assert not unsafe_version & started
