"""The sandbox clock: wall time, sped up by a time scale and pushed forward by the control API.

All sandbox rules (token lifetimes, rate-limit windows, idempotency retention) are expressed in *sandbox
seconds*. With ``--time-scale 60`` one real second is one sandbox minute, so a benchmark can run a day's
budget in 24 real minutes while every ratio between limits stays Xero's.
"""

from __future__ import annotations

import math
import threading
import time


class SandboxClock:
    """Sandbox time = anchor + (monotonic elapsed x scale) + manual advances."""

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._lock = threading.Lock()
        self._anchor_sandbox = time.time() if start is None else start
        self._anchor_mono = time.monotonic()

    def now(self) -> float:
        """Current sandbox time as epoch seconds."""
        with self._lock:
            return self._anchor_sandbox + (time.monotonic() - self._anchor_mono) * self.scale

    def advance(self, seconds: float) -> float:
        """Jump the sandbox clock forward (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._anchor_sandbox += seconds
        return self.now()

    def resume_from(self, saved_now: float) -> None:
        """After a restart, continue from a saved sandbox time if it is ahead of the wall clock."""
        with self._lock:
            if saved_now > self._anchor_sandbox:
                self._anchor_sandbox = saved_now
                self._anchor_mono = time.monotonic()

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long a sandbox duration lasts on the wall clock."""
        return sandbox_seconds / self.scale

    def real_epoch(self, sandbox_time: float) -> float:
        """The wall-clock epoch at which a sandbox instant happens (for JWT ``exp`` and ``nbf``)."""
        return time.time() + (sandbox_time - self.now()) / self.scale

    def retry_after(self, sandbox_seconds: float) -> int:
        """Whole real seconds a client must wait for a sandbox duration to pass (Retry-After is real time)."""
        return max(1, math.ceil(self.real_seconds(sandbox_seconds)))
