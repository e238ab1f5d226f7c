"""Retrying scanner calls: transient failures (connection errors, timeouts, 429, 502, 503, 504)
are retried with exponential backoff and jitter, honouring Retry-After, bounded by a number of
attempts and by the scanner's deadline. Anything else fails at once."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from pydantic import Field
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from ..errors import ScannerError
from ..model.base import Model

R = TypeVar("R")


class RetryPolicy(Model):
    """How hard to try one scanner."""

    attempts: int = Field(default=5, ge=1)
    """Tries per call, the first included."""
    initial_wait_s: float = Field(default=0.5, ge=0)
    max_wait_s: float = Field(default=15.0, ge=0)
    """No single wait is longer, whatever Retry-After asks."""
    deadline_s: float = Field(default=600.0, gt=0)
    """Total time for one scanner's sync, retries included."""


def is_transient(e: BaseException) -> bool:
    """A failure a retry may fix."""
    return isinstance(e, ScannerError) and e.transient


class Deadline:
    """The time a scanner's sync must finish by (monotonic clock)."""

    def __init__(self, seconds: float, scanner: str):
        self.at = time.monotonic() + seconds
        self.seconds = seconds
        self.scanner = scanner

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def check(self, operation: str) -> None:
        """Raise when the deadline has passed (not transient: no point retrying)."""
        if self.remaining() <= 0:
            raise ScannerError(self.scanner, f"{operation}: gave up, the sync of this scanner exceeded its deadline "
                                             f"of {self.seconds:g}s")


def call(operation: str, fn: Callable[[], R], *, policy: RetryPolicy, deadline: Deadline,
         on_retry: Callable[[str, ScannerError], None] | None = None) -> R:
    """Run `fn`, retrying transient ScannerErrors per `policy` until `deadline`; the last error
    is raised as is when retries are exhausted."""
    backoff = wait_exponential_jitter(multiplier=policy.initial_wait_s, max=policy.max_wait_s,
                                      jitter=policy.initial_wait_s)

    def wait(rs: RetryCallState) -> float:
        exc = rs.outcome.exception() if rs.outcome else None
        asked = getattr(exc, "retry_after", None)
        # Retry-After is the scanner saying when it can take us again; never wait beyond the deadline
        w = min(float(asked), policy.max_wait_s) if asked is not None else backoff(rs)
        return max(0.0, min(w, deadline.remaining()))

    def stop(rs: RetryCallState) -> bool:
        if rs.attempt_number >= policy.attempts or deadline.remaining() <= 0:
            return True
        exc = rs.outcome.exception() if rs.outcome else None
        asked = getattr(exc, "retry_after", None)
        # a Retry-After beyond the deadline cannot be honoured: stop now rather than hammer the scanner
        return asked is not None and float(asked) > deadline.remaining()

    def before_sleep(rs: RetryCallState) -> None:
        exc = rs.outcome.exception() if rs.outcome else None
        if on_retry is not None and isinstance(exc, ScannerError):
            on_retry(operation, exc)

    deadline.check(operation)
    retrying = Retrying(retry=retry_if_exception(is_transient), wait=wait, stop=stop, reraise=True,
                        before_sleep=before_sleep)
    return retrying(fn)
