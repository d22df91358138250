"""Client-side limits: adaptive concurrency (AIMD on 429s) and per-minute token buckets.

A bucket can be shared by every process of the machine that calls the same endpoint and
model (`RateBucket(shared=...)`, `shared_bucket_file`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import hashlib
import os
import struct
import time
from pathlib import Path

from synthlake import settings


class AdaptiveLimiter:
    """Concurrency limit that drops on a rate-limit answer and climbs back (AIMD).

    `acquire()` returns a ticket, the request's admission number, for `slow_down`. Like
    TCP's congestion window, the limit drops at most once per round: a 429 for a request
    admitted before the last drop was sent under the old limit and says nothing new, so a
    burst of 429s cuts the limit once instead of driving it down to 1 (from where climbing
    back by one per round took half a minute at 256).

    Each drop takes a tenth off (SLOW_DOWN). Halving, as TCP does, left the endpoint idle
    between drops: at concurrency 256 against a server limit of 640 requests/s (200 ms
    latency; 128 in flight would saturate it) halving reached 0.66 of the limit, a
    quarter off 0.86, a tenth off 0.93 (3 runs each, bench/generation.py), with 6%, 8%
    and 13% of requests refused on the way. A sudden lower limit is still met within a
    few rounds: a refused request comes back at once, so rounds are short.

    Waiters queue in FIFO order and a freed slot wakes exactly one of them: with
    thousands of requests waiting, waking them all on every answer (a Condition's
    notify_all) made each answer cost time proportional to the queue."""

    SLOW_DOWN = 0.9

    def __init__(self, maximum: int):
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_flight = 0
        self.admitted = 0  # requests let in so far
        self._round_start = 0  # tickets from here on were admitted after the last drop
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    def _capacity(self) -> int:
        return max(1, int(self.limit))

    def _admit(self) -> int:
        self.in_flight += 1
        self.admitted += 1
        return self.admitted - 1

    async def acquire(self) -> int:
        if not self._waiters and self.in_flight < self._capacity():
            return self._admit()
        slot = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        try:
            return await slot  # `_wake` admitted us and passed the ticket
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled():
                self.release()  # the slot was ours already: hand it on
            else:
                with contextlib.suppress(ValueError):  # `_wake` may have dropped it
                    self._waiters.remove(slot)
            raise

    def slow_down(self, ticket: int) -> None:
        """A 429 for request `ticket`: a tenth off the limit, unless this round did so."""
        if ticket >= self._round_start:
            self.limit = max(1.0, self.limit * self.SLOW_DOWN)
            self._round_start = self.admitted

    def release(self, rate_limited: bool = False) -> None:
        """Free a slot; a request that met no 429 raises the limit by one per round's
        worth of answers."""
        self.in_flight -= 1
        if not rate_limited:
            self.limit = min(self.maximum, self.limit + 1 / max(self.limit, 1))
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self._capacity():
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(self._admit())


class RateBucket:
    """Token bucket refilled continuously at `per_minute`, holding `capacity` units (one
    second's worth unless given). The client waits on it (`take`).

    With `shared` (a file), the bucket's level lives in that file under an exclusive lock,
    so every process on the machine that names the same file draws on one budget. Why:
    Dagster's concurrency pool is meant to keep parallel runs from multiplying a
    provider's limit, but on the default SQLite instance two steps that claim the pool's
    one slot within milliseconds both get it (dagster 1.13's slot claim updates the row
    without checking it is still free; three of four runs were seen generating at once,
    tests/integration/test_parallel_partitions.py). The file holds two doubles: the level
    and the wall-clock time it was read at."""

    def __init__(self, per_minute: float, capacity: float | None = None,
                 shared: Path | None = None):
        self.rate = per_minute / 60.0
        self.capacity = capacity or max(self.rate, 1.0)
        self.level = self.capacity
        self.stamp = time.time()
        self.shared = shared
        if shared is not None:
            shared.parent.mkdir(parents=True, exist_ok=True)
        self._lock = asyncio.Lock()

    def _take_now(self, amount: float) -> float:
        now = time.time()
        self.level = min(self.capacity, self.level + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        need = min(amount, self.capacity)  # more than a full bucket goes out when it is full
        if self.level >= need:
            self.level -= amount
            return 0.0
        return (need - self.level) / self.rate

    def try_take(self, amount: float = 1.0) -> float:
        """Take `amount` now and return 0, or return the seconds until it could be taken."""
        if self.shared is None:
            return self._take_now(amount)
        fd = os.open(self.shared, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = os.pread(fd, _STATE.size, 0)
            if len(state) == _STATE.size:  # else a new budget: a full bucket
                self.level, self.stamp = _STATE.unpack(state)
            wait = self._take_now(amount)
            os.pwrite(fd, _STATE.pack(self.level, self.stamp), 0)
            return wait
        finally:
            os.close(fd)  # releases the lock

    async def take(self, amount: float = 1.0) -> None:
        async with self._lock:
            while (wait := self.try_take(amount)) > 0:
                await asyncio.sleep(wait)


_STATE = struct.Struct("<dd")  # a shared bucket's file: level, time.time() of the level


def shared_bucket_file(base_url: str, model: str, kind: str) -> Path:
    """Where the budget of one endpoint and model is kept for every process of this
    machine: `$SYNTHLAKE_CACHE/rate/<hash>-<kind>`. Hashed, so a URL that carries a
    secret leaves none in a file name."""
    digest = hashlib.sha256(f"{base_url}\n{model}".encode()).hexdigest()[:24]
    return settings.path("SYNTHLAKE_CACHE") / "rate" / f"{digest}-{kind}"
