"""Provider rate limits, kept on our side so that a storm queues here, critical first, instead
of at the provider as 429s.

A Pacer hands out turns at a steady rate per destination; callers waiting for a turn are served
by priority. A Coalescer sits on a Pacer: what piles up while waiting for one turn is sent
together as one message.
"""

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741  (an item)
R = TypeVar("R")


class Pacer:
    """At most `per_second` turns per second, in bursts of up to `burst`."""

    def __init__(self, per_second: float, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._order = itertools.count()
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._server: asyncio.Task[None] | None = None

    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiting if not f.done())

    def hold(self, seconds: float) -> None:
        """The provider said slow down (429 + Retry-After): no turn for `seconds`."""
        self._refill()
        self._tokens = min(self._tokens, 1.0 - seconds / self._interval)

    async def turn(self, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        if self._server is None or self._server.done():
            self._server = asyncio.create_task(self._serve())
        await future

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) / self._interval)
        self._last = now

    async def _serve(self) -> None:
        while self._waiting:
            self._refill()
            if self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) * self._interval)
                continue
            *_, future = heapq.heappop(self._waiting)
            if not future.done():  # a caller that gave up (its step timed out) costs no turn
                self._tokens -= 1.0
                future.set_result(None)


class Coalescer(Generic[I, R]):
    """Items for one destination that wait for the same turn are sent together, best first."""

    def __init__(
        self,
        pacer: Pacer,
        send: Callable[[list[I]], Awaitable[list[R]]],
        priority: Callable[[I], int],
        max_batch: int,
    ) -> None:
        self._pacer = pacer
        self._send = send
        self._priority = priority
        self._max_batch = max_batch
        self._pending: list[tuple[I, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            await self._pacer.turn(min(self._priority(item) for item, _ in self._pending))
            self._pending.sort(key=lambda pair: self._priority(pair[0]))
            batch = [(i, f) for i, f in self._pending[: self._max_batch] if not f.done()]
            del self._pending[: self._max_batch]
            if not batch:
                continue
            try:
                results = await self._send([item for item, _ in batch])
            except Exception as exc:  # every waiting step sees the provider's error and retries
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
