"""What both journals' group-commit writers share: an operation waiting for its batch, telling
its callers how the batch ended, and running a blocking call on a thread without letting
anything else at the connection meanwhile. The writers (sqlite_writer, postgres_writer) own
their connection and decide how a batch becomes transactions."""

import asyncio
import concurrent.futures
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from responder.journal import Settled

T = TypeVar("T")
C = TypeVar("C")  # the writer's connection
MAX_BATCH = 512  # operations per transaction: what waits beyond it joins the next one
log = logging.getLogger("responder.journal")


@dataclass
class Op:
    """An operation submitted to a writer: `fn` of the connection, and who hears of its outcome."""

    fn: Callable[[Any], Any]
    future: "asyncio.Future[Any]"
    durable: bool  # must be on disk, not just in the log, when the caller hears back
    then: Settled[Any] | None = None  # told the outcome as it settles, whoever still awaits the future
    # Called as each transaction that will run `fn` begins, before any of its operations runs:
    # to say what `fn` will read, so that the writer can read the whole batch's at once.
    announce: Callable[[], None] | None = None


class OpFailed(Exception):
    """An operation's own code raised: its batch is rolled back and run again op by op, so that
    only it fails."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


Outcome = tuple[Op, Any, BaseException | None]


def _tell(then: Settled[Any], result: Any, error: BaseException | None) -> None:
    try:
        then(result, error)
    except Exception:  # a bug in what acts on it must not leave the rest of the batch unsettled
        log.exception("acting on a settled journal operation failed")


def abandon(ops: Sequence[Op], error: BaseException) -> None:
    """The writer itself is cancelled (the loop is closing): the callers' futures are cancelled,
    and `then` is told why, though a commit may have reached the disk."""
    for op in ops:
        op.future.cancel()
        if op.then is not None:
            _tell(op.then, None, error)


def settle(outcomes: Sequence[Outcome]) -> None:
    """Tell each operation's `then` and future its result or its error."""
    for op, result, error in outcomes:
        if op.then is not None:
            _tell(op.then, result, error)
        if op.future.done():  # the caller went away (client disconnected); only `then` is told
            continue
        if error is not None:
            op.future.set_exception(error)
        else:
            op.future.set_result(result)


async def off_loop(
    loop: asyncio.AbstractEventLoop,
    executor: concurrent.futures.Executor | None,
    fn: Callable[[], T],
    cancelled: Callable[[], None] | None = None,
) -> T:
    """`fn` (a commit, a flush) on a thread of `executor` (None: the loop's default). Nothing else
    touches the connection until it is done, cancelled or not: the writer is its only user. If
    the caller is cancelled, `cancelled` is told before `fn` is waited for (to cut it short)."""
    done = loop.run_in_executor(executor, fn)
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        if cancelled is not None:
            cancelled()
        while not done.done():  # cancelled again meanwhile: still wait, the thread holds the connection
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([done])
        raise


class Batches(Generic[C]):
    """The queue both writers share: operations submitted while a batch runs wait, and run
    together in the next one. A writer says how a batch runs (`_execute`) and what it does
    between batches (`_between`)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Appended by the callers, taken by the writer's task: both on the loop.
        self._pending: deque[Op] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(
        self,
        fn: Callable[[C], T],
        durable: bool,
        then: Settled[T] | None = None,
        announce: Callable[[], None] | None = None,
    ) -> "asyncio.Future[T]":
        """Run `fn(conn)` in the next transaction; the future gets its result or its error once
        the transaction committed (on disk when `durable`) or failed. `then` is told the same,
        synchronously as it settles, whether or not the future is still awaited. `announce`, if
        the writer reads ahead (see Op)."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._pending.append(Op(fn, future, durable, then, announce))
        if self._task is None:
            self._task = self._loop.create_task(self._write())
        return future

    async def _finished(self) -> None:
        """Wait until everything submitted so far has run."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def _take(self) -> list[Op]:
        """The next batch: the oldest operations waiting, up to MAX_BATCH."""
        pending = self._pending
        return [pending.popleft() for _ in range(min(len(pending), MAX_BATCH))]

    async def _write(self) -> None:
        try:
            while self._pending:
                await self._execute(self._take())
                await self._between()
        except BaseException as exc:  # the writer itself failed or was cancelled: what waits would wait forever
            waiting = list(self._pending)
            self._pending.clear()
            self._task = None  # before the callers hear: what they submit then starts a writer of its own
            abandon(waiting, exc)
            raise
        self._task = None

    async def _execute(self, batch: list[Op]) -> None:
        raise NotImplementedError

    async def _between(self) -> None:
        """After a batch, before the next: nothing unless the writer has upkeep to do."""
