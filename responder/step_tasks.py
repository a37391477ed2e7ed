"""The tasks that run claimed steps, and what becomes of the steps claimed while the engine stops.

Once `stop` begins, a claim or an accept whose commit settles still hands its steps here (the
webhook's last requests, a dispatcher's claim already in the writer's batch). They are not
started: a step begun while the replica shuts down would be cut off at the loop's end, its
call under way. They are handed back to the journal instead, which makes them pending again at
once for whichever replica claims next, rather than leased to a process that is gone until
their leases run out.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from typing import Any

from responder.journal import Step

log = logging.getLogger("responder.engine")
# For a loop to end its round: a claim, an ingest batch or a prune, milliseconds unless the
# database hangs; then it is cancelled.
LOOPS_SECONDS = 2.0
RELEASE_SECONDS = 5.0  # for the hand-back's transaction, so that a database gone does not hold up the shutdown


class StepTasks:
    """A task per step started; the steps set aside once stopping; and how many accepts have
    yet to settle (each may lease steps as it settles, so `stop` waits for them)."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[None]] = set()
        self.stopping = False
        self._set_aside: list[Step] = []
        self._settling = 0
        self._settled = asyncio.Event()
        self._settled.set()

    def start(self, steps: Sequence[Step], run: Callable[[Step], Coroutine[Any, Any, None]]) -> bool:
        """Run each step in a task of its own, unless stopping: then the steps are set aside and
        False returned (their workers are the caller's to free)."""
        if self.stopping:
            self._set_aside += steps
            return False
        for step in steps:
            task = asyncio.create_task(run(step))
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        return True

    def accepting(self) -> None:
        """An accept was submitted; `accepted` is called as it settles, however it ends (before
        this, for a journal that refuses at once: the count may dip below zero meanwhile)."""
        self._settling += 1
        if self._settling > 0:
            self._settled.clear()

    def accepted(self) -> None:
        """An accept settled: what it leased has been handed to `start`."""
        self._settling -= 1
        if self._settling <= 0:
            self._settled.set()

    async def stop(
        self,
        loops: Sequence["asyncio.Task[None]"],
        grace_seconds: float,
        release: Callable[[list[Step]], Awaitable[int]],
    ) -> None:
        """Stop starting steps (if not yet stopping). Give the engine's `loops`, told to end, a
        moment to end their round (then cancel them), the running steps until `grace_seconds`
        from now to finish (then cancel them), and the accepts in flight until then to settle.
        Then hand back what was set aside (`release`), within RELEASE_SECONDS: at most
        `grace_seconds` + RELEASE_SECONDS in all."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        await _ended(loops, min(grace_seconds, LOOPS_SECONDS))
        if self.running:
            log.info("stopping: waiting for the steps running", extra={"steps": len(self.running)})
        if cut_short := await _ended(self.running, max(deadline - loop.time(), 0.0)):
            log.warning(
                "steps cut short at the shutdown's grace; they run again once their leases run out",
                extra={"steps": cut_short, "grace_seconds": grace_seconds},
            )
        with contextlib.suppress(TimeoutError):  # what such an accept leases keeps its lease until it runs out
            async with asyncio.timeout_at(deadline):
                while self._settling > 0:  # counted again: the event may have been set and cleared since
                    await self._settled.wait()
        set_aside, self._set_aside = self._set_aside, []
        if not set_aside:
            return
        try:
            async with asyncio.timeout(RELEASE_SECONDS):
                handed = await release(set_aside)
            log.info("handed back the steps claimed while stopping", extra={"steps": handed})
        except Exception as exc:  # the database is down, or slow: their leases run out instead
            log.warning(
                "could not hand back the steps claimed while stopping; they run once their leases run out",
                extra={"steps": len(set_aside), "error": str(exc) or type(exc).__name__},
            )


async def _ended(tasks: Collection["asyncio.Task[None]"], seconds: float) -> int:
    """Wait up to `seconds` for `tasks`, then cancel those still running and wait for them;
    how many were cancelled."""
    if not tasks:
        return 0
    _, late = await asyncio.wait(tasks, timeout=seconds)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    return len(late)
