"""Correctness of trials and correlation against random fragile devices.

A seed decides each virtual device: for the *port* class, a handful of services and one fatal
port among them (dies on any connection to it); for the *rate* class, a dozen or more services
and a connection-rate threshold; for the *payload* class, a few services and one fatal port
that dies only on one of the payloads nmap's version detection sends (the seed picks the port
and the probe; the payload is read from the installed nmap's own nmap-service-probes). Each
device gets a trial (reduced stages: ``service`` for the port class, ``service`` then ``speed``
for the rate class, ``service`` then ``vulnerability`` for the payload class), and the trial's
confirmed finding is compared with the device's own ground-truth log:

- port class: correct when the confirmed suspect is an excluded port equal to the port of the
  probe that killed the device;
- rate class: correct when the finding is a rate limit and the device died of its rate rule;
- payload class: correct when the confirmed suspect names the fatal port and the fatal probe,
  every death was that payload rule, and no rate limit is proposed.

    .venv/bin/python benchmarks/bench_trial_correctness.py [--count 10] [--seed 1000] [--classes port,rate,payload]

Needs nmap; runs on loopback addresses only (127.0.0.x); run it in a network namespace of its
own (``unshare -n``, loopback up) where other tests share the machine.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from scanguard import DeviceProfile, PortSet
from scanguard.plugin.manager import load_plugins
from scanguard.testbed import Personality, run_device
from scanguard.trial import TrialOptions, run_trial

PAYLOAD_PROBES = ("GenericLines", "GetRequest", "HTTPOptions", "RTSPRequest", "RPCCheck", "DNSVersionBindReqTCP", "Help")
"""Version-detection probes nmap sends to any TCP port that stays silent (rarity within its
default intensity, no port list needed); a payload-fragile device dies on one of them."""


def port_personality(seed: int) -> tuple[Personality, int]:
    """A device with 3-6 services between 1000 and 9000 that dies on one of them."""
    rng = random.Random(seed)
    ports = rng.sample(range(1000, 9000), rng.randint(3, 6))
    heartbeat = rng.randint(20000, 20999)
    fatal = rng.choice(ports)
    p = Personality.model_validate({
        "id": f"rand-port-{seed}", "name": f"random device {seed}", "evidence": [f"seed-{seed}"],
        "services": [{"port": x} for x in (*ports, heartbeat)], "heartbeat": heartbeat,
        "fragility": [{"kind": "connect", "port": fatal, "reason": f"seed {seed}"}],
        "recovery": {"mode": "reboot", "delay_s": 0.3},
    })
    return p, fatal


def rate_personality(seed: int) -> tuple[Personality, int]:
    """A device with 12-20 services that dies above 15-40 connections within one second."""
    rng = random.Random(seed)
    ports = rng.sample(range(3000, 4000), rng.randint(12, 20))
    heartbeat = rng.randint(21000, 21999)
    threshold = rng.randint(15, 40)
    p = Personality.model_validate({
        "id": f"rand-rate-{seed}", "name": f"random device {seed}", "evidence": [f"seed-{seed}"],
        "services": [{"port": x} for x in (*ports, heartbeat)], "heartbeat": heartbeat,
        "fragility": [{"kind": "rate", "connections": threshold, "window_s": 1.0, "reason": f"seed {seed}"}],
        "recovery": {"mode": "reboot", "delay_s": 0.3},
    })
    return p, threshold


def payload_personality(seed: int, probes_text: str) -> tuple[Personality, int, str]:
    """A device with 2-4 services that hang up at once and one silent service (it keeps a
    connection open and says nothing, so version detection tries probe after probe) that dies on
    the payload of one version-detection probe; (personality, fatal port, probe)."""
    from scanguard_nmap.run import probe_payload

    rng = random.Random(seed)
    others = rng.sample(range(1000, 9000), rng.randint(2, 4))
    fatal = rng.choice([x for x in range(1000, 9000) if x not in others])
    probe = rng.choice(PAYLOAD_PROBES)
    pattern = "^" + re.escape(probe_payload(probes_text, "tcp", probe).decode("latin-1"))
    heartbeat = rng.randint(22000, 22999)
    p = Personality.model_validate({
        "id": f"rand-payload-{seed}", "name": f"random device {seed}", "evidence": [f"seed-{seed}"],
        "services": [*({"port": x, "closes": "at-once"} for x in others), {"port": fatal}],
        "heartbeat": heartbeat,
        "fragility": [{"kind": "payload", "port": fatal, "pattern": pattern, "reason": f"seed {seed}: {probe}"}],
        "recovery": {"mode": "reboot", "delay_s": 0.3},
    })
    return p, fatal, probe


def trial_of(p: Personality, host: str, stages: tuple[str, ...], vendor, out: Path):
    """Run a trial against the device; (result, deaths from the ground truth)."""
    ports = ",".join(str(x) for x in p.tcp_ports)
    profile = DeviceProfile.model_validate({"id": p.id, "name": p.name, "location": {"hosts": [host]},
                                            "fingerprint": {"open_ports": ports}})
    with run_device(p, host) as dev:
        opts = TrialOptions(stages=stages, heartbeat_port=dev.heartbeat_port, interval_s=0.1, settle_s=0.4,
                            recovery_timeout_s=10, reset_after_s=2, speed_probes=max(60, 3 * len(p.tcp_ports)),
                            survey_ports=PortSet.parse(ports), device_ports=PortSet.parse(ports))
        result = run_trial(profile, host, vendor, out_dir=out / p.id, options=opts, reset=dev.reset)
        deaths = [e for e in dev.truth() if e.kind == "death"]
    return result, deaths


def main() -> int:
    """Run the benchmark and print the summary; exit 1 when a target is missed."""
    ap = argparse.ArgumentParser(description="correctness of trials against random fragile devices")
    ap.add_argument("--count", type=int, default=10, help="port-fragile devices (rate-fragile: half as many)")
    ap.add_argument("--seed", type=int, default=1000, help="first seed; device i uses seed+i")
    ap.add_argument("--classes", default="port,rate,payload", help="which classes of devices (comma-separated)")
    a = ap.parse_args()
    if shutil.which("nmap") is None:
        print("nmap is not installed: skipped", file=sys.stderr)
        return 0
    classes = {c.strip() for c in a.classes.split(",") if c.strip()}
    vendor = load_plugins().vendor("nmap")
    port_seeds = [a.seed + i for i in range(a.count)] if "port" in classes else []
    rate_seeds = [a.seed + 500 + i for i in range(max(1, a.count // 2))] if "rate" in classes else []
    payload_seeds = [a.seed + 800 + i for i in range(a.count)] if "payload" in classes else []
    rows: list[tuple[str, int, str, str, bool]] = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sg-bench-trial-") as tmp:
        out = Path(tmp)
        for i, seed in enumerate(port_seeds):
            p, fatal = port_personality(seed)
            result, deaths = trial_of(p, f"127.0.0.{100 + i}", ("service",), vendor, out)
            truth = {d.port for d in deaths if d.rule == "connect"}
            found = result.proposals[0] if result.proposals else None
            got = found.ports.text() if found is not None and found.ports is not None else (found.kind if found else "-")
            confirmed = bool(result.failed_stage() and result.failed_stage().confirmed)
            ok = confirmed and found is not None and found.kind == "excluded_port" and truth == {fatal} \
                and found.ports == PortSet.parse(f"{fatal}/tcp")
            rows.append(("port", seed, f"connect {fatal}/tcp", got + (" (confirmed)" if confirmed else ""), ok))
        safe_rates: list[bool] = []
        for i, seed in enumerate(rate_seeds):
            p, threshold = rate_personality(seed)
            result, deaths = trial_of(p, f"127.0.0.{160 + i}", ("service", "speed"), vendor, out)
            rules = {d.rule for d in deaths}
            found = result.proposals[0] if result.proposals else None
            got = (f"rate <= {found.packets_per_second}/s" if found is not None and found.kind == "rate"
                   else (found.kind if found else "-"))
            stage = result.failed_stage().name if result.failed_stage() else "none"
            ok = found is not None and found.kind == "rate" and rules == {"rate"}
            safe = ok and found.packets_per_second is not None and found.packets_per_second < threshold
            rows.append(("rate", seed, f"{threshold} conn/1s", f"{got} in {stage}" + ("" if safe else " (NOT below)"),
                         ok))
            safe_rates.append(safe)
        if payload_seeds:
            from scanguard_nmap.run import installed_probes

            probes_text = installed_probes()
        rate_for_payload = 0
        for i, seed in enumerate(payload_seeds):
            p, fatal, probe = payload_personality(seed, probes_text)
            result, deaths = trial_of(p, f"127.0.0.{200 + i}", ("service", "vulnerability"), vendor, out)
            failed = result.failed_stage()
            confirmed = bool(failed and failed.confirmed)
            named = [f.suspect for f in result.findings if f.suspect is not None]
            top = named[0] if named else None
            got = (f"{top.probe or top.check_id or 'connect'} on {top.port}/{top.protocol or 'tcp'}" if top else "-")
            rates = [f for f in result.findings if f.proposal is not None and f.proposal.kind == "rate"]
            rate_for_payload += bool(rates)
            ok = confirmed and top is not None and top.port == fatal and top.probe == probe and not rates \
                and bool(deaths) and all(d.rule == "payload" and d.port == fatal for d in deaths)
            rows.append(("payload", seed, f"{probe} on {fatal}/tcp",
                         got + (" (confirmed)" if confirmed else "") + (" +RATE" if rates else ""), ok))
    took = time.monotonic() - t0

    print(f"{'class':7} {'seed':>6}  {'truth':30} {'trial found':44} ok")
    for cls, seed, truth, got, ok in rows:
        print(f"{cls:7} {seed:>6}  {truth:30} {got:44} {'yes' if ok else 'NO'}")
    print()
    missed = False
    for cls, target in (("port", "confirmed suspect is the fatal port"), ("rate", "recognised as rate"),
                        ("payload", "confirmed suspect names the fatal port and probe")):
        mine = [r for r in rows if r[0] == cls]
        if not mine:
            continue
        good = sum(1 for r in mine if r[4])
        share = 100.0 * good / len(mine) if mine else 0.0
        missed |= good != len(mine)
        print(f"{cls}-fragile: {good}/{len(mine)} = {share:.0f}% {target}; seeds {[r[1] for r in mine]}")
    if safe_rates:
        print(f"rate-fragile: {sum(safe_rates)}/{len(safe_rates)} proposed limits below the fatal rate")
    if payload_seeds:
        print(f"payload-fragile: {rate_for_payload}/{len(payload_seeds)} trials proposed a rate limit")
    print(f"{len(rows)} trials in {took:.0f}s")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
