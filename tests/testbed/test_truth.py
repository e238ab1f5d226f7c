"""The ground-truth log says what killed a device, where, from whom, and how it came back."""

from __future__ import annotations

from scanguard.testbed import run_device


def test_the_ground_truth_records_the_connect_that_killed_the_terminal(personality, net):
    with run_device(personality("payment-terminal", delay_s=30)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down")
        deaths = [e for e in dev.truth() if e.kind == "death"]
        assert len(deaths) == 1
        death = deaths[0]
        assert (death.rule, death.port, death.protocol, death.host) == ("connect", 7100, "tcp", dev.address)
        assert death.peer is not None and death.peer.startswith("127.0.0.1:")
        assert death.time.tzinfo is not None


def test_the_ground_truth_keeps_an_excerpt_of_the_fatal_payload(personality, net):
    p = personality("infusion-rack")
    with run_device(p) as dev:
        net.connect(dev.address, p.fragility[0].port, b"GET /infusions HTTP/1.1\r\n\r\n")
        assert dev.wait_for("down")
        death = next(e for e in dev.truth() if e.kind == "death")
        assert death.rule == "payload"
        assert death.payload.startswith("GET /infusions HTTP/1.1\\r\\n")


def test_the_ground_truth_records_each_recovery_and_how(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.05)) as dev:
        net.connect(dev.address, 7100)
        assert dev.wait_for("down") and dev.wait_for("up")
        dev.kill()
        dev.reset()
        kinds = [(e.kind, e.rule or e.how) for e in dev.truth()]
        assert kinds == [("start", None), ("death", "connect"), ("recovery", "reboot"),
                         ("death", "manual"), ("recovery", "reset")]


def test_the_ground_truth_is_in_time_order(personality, net):
    with run_device(personality("payment-terminal", delay_s=0.05)) as dev:
        for _ in range(2):
            net.connect(dev.address, 7100)
            assert dev.wait_for("down") and dev.wait_for("up")
        times = [e.time for e in dev.truth()]
        assert times == sorted(times)
