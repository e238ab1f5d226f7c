"""Run virtual devices in a background thread, for tests, the CLI and trials:

    with run_device(load_personality("payment-terminal"), host="127.0.0.23") as dev:
        dev.address, dev.ports, dev.is_up(), dev.reset(), dev.truth()
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager
from typing import Awaitable, Iterator, TypeVar

from ..health import LOOPBACK_OBSERVER
from .control import ControlClient
from .device import VirtualDevice
from .personality import Personality
from .truth import DeviceState, DeviceStatus, TruthEvent

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0


class DeviceHandle:
    """A virtual device running on its own event loop in a background thread. Every method is
    thread-safe. Build one with :func:`run_device` (or call start/stop yourself)."""

    def __init__(self, personality: Personality, host: str | None = None, *,
                 control_host: str = "127.0.0.1", control_port: int | None = 0,
                 observer: str | None = LOOPBACK_OBSERVER) -> None:
        self.device = VirtualDevice(personality, host, control_host=control_host, control_port=control_port,
                                    observer=observer)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"testbed-{personality.id}", daemon=True)
        self._changed = threading.Condition()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "DeviceHandle":
        """Start the loop thread and bring the device up; raises what binding raised."""
        self._thread.start()
        self.device.on_change(self._notify)
        try:
            self._call(self.device.start())
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    def stop(self) -> None:
        """Take the device and its control interface down and end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self.device.stop())
            self._call(_settle())
        finally:
            self._shutdown_loop()

    # -- what tests and trials use ---------------------------------------------------------------
    @property
    def personality(self) -> Personality:
        """The personality the device runs."""
        return self.device.personality

    @property
    def address(self) -> str:
        """The loopback address the device listens on."""
        return self.device.host

    @property
    def ports(self) -> tuple[int, ...]:
        """The TCP ports the device listens on while up (heartbeat included)."""
        return self.personality.tcp_ports

    @property
    def udp_ports(self) -> tuple[int, ...]:
        """The UDP ports the device listens on while up."""
        return self.personality.udp_ports

    @property
    def heartbeat_port(self) -> int:
        """The TCP port a health monitor should connect to: the personality's heartbeat, else
        the first TCP port."""
        p = self.personality
        return p.heartbeat if p.heartbeat is not None else p.tcp_ports[0]

    @property
    def control_port(self) -> int | None:
        """The port of the control interface (on 127.0.0.1 unless told otherwise)."""
        return self.device.control_port

    def control(self) -> ControlClient:
        """A client of the device's control interface (what another process would use)."""
        if self.control_port is None:
            raise RuntimeError("this device runs without a control interface")
        return ControlClient(self.device._control_host, self.control_port)

    def state(self) -> DeviceState:
        """"up" or "down", as the device knows it (the ground truth, not an observation)."""
        return self.device.state

    def is_up(self) -> bool:
        """Whether the device is up."""
        return self.device.state == "up"

    def status(self) -> DeviceStatus:
        """State and counters."""
        return self._call(self._async(self.device.status))

    def truth(self) -> tuple[TruthEvent, ...]:
        """The ground-truth log so far."""
        return self._call(self._async(self.device.truth))

    def reset(self) -> DeviceStatus:
        """The hard-reset button: bring a dead device back now."""
        return self._call(self.device.reset())

    def kill(self) -> DeviceStatus:
        """Take the device down (rule "manual" in the ground truth)."""
        return self._call(self._async(self.device.kill))

    def wait_for(self, state: DeviceState, timeout_s: float = 5.0) -> bool:
        """Wait until the device is in `state`; False when `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.device.state != state:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def __enter__(self) -> "DeviceHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------------
    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    @staticmethod
    async def _async(fn):  # run a plain method on the device's loop, where its state lives
        return fn()

    def _call(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()


async def _settle() -> None:
    """Let the loop finish what the stop started: connections accepted just before it get
    their transports (and are aborted), aborted transports close their sockets."""
    for _ in range(3):
        await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)


@contextmanager
def run_device(personality: Personality, host: str | None = None, *, control_host: str = "127.0.0.1",
               control_port: int | None = 0, port_map: dict[int, int] | None = None,
               observer: str | None = LOOPBACK_OBSERVER) -> Iterator[DeviceHandle]:
    """Run a virtual device in a background thread for the duration of the `with` block.

    `host` None picks a free 127.0.0.x. `port_map` moves ports (e.g. {80: 8080} where binding
    below 1024 needs privileges). `control_port` None runs without a control interface.
    `observer`: whose connections to the heartbeat port are not counted (see the device module)."""
    if port_map:
        personality = personality.remap_ports(port_map)
    handle = DeviceHandle(personality, host, control_host=control_host, control_port=control_port,
                          observer=observer).start()
    try:
        yield handle
    finally:
        handle.stop()
