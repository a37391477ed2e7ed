"""The writer's connection on the event loop: psycopg's asynchronous connection, used by code
written as synchronous calls.

The journal's operations are synchronous functions of a connection (the `Transaction`
protocol both backends share), and the SQLite writer runs them on the loop. For PostgreSQL a
read that waits for the server must not block the loop, and running the operations on a thread
of their own makes that thread and the loop take turns on the GIL. So each batch runs in a
greenlet on the loop (`run_sync`): a call that would wait for the server (`LoopConnection`'s
`execute`, a cursor's `fetchall`, `commit`) switches back to the coroutine that runs the batch,
which awaits psycopg's asynchronous call, and the loop serves requests while the server works.
Only that coroutine ever awaits on behalf of the greenlet, so the operations' code runs between
the loop's other callbacks as any coroutine's does, never beside them. A batch cancelled while
it waits (the loop closing) is unwound from where it waits: the cancellation is raised there,
as the call's error.
"""

import contextlib
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import greenlet
import psycopg
from psycopg.abc import Params, QueryNoTemplate

T = TypeVar("T")
Row = tuple[Any, ...]


class _Batch(greenlet.greenlet):
    """The greenlet a batch runs in: only code running in one may call `wait`. `closing` once
    the coroutine running it is closed unfinished: nothing can be awaited for it any more."""

    closing = False


def wait(awaitable: Awaitable[T]) -> T:
    """The result of `awaitable`, from code that `run_sync` runs: the greenlet hands it to the
    coroutine running it, and resumes with its result or its error."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Batch) or current.parent is None:
        raise RuntimeError(
            "a journal connection was used outside the writer's batch; submit the operation to the writer"
        )
    if current.closing:
        if isinstance(awaitable, Coroutine):
            awaitable.close()
        raise RuntimeError("the event loop closed while the journal's writer was in a batch; nothing more is sent")
    return cast(T, current.parent.switch(awaitable))


async def run_sync(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a greenlet of its own, each `wait` it reaches awaited here."""
    batch = _Batch(fn)
    step = batch.switch(*args)
    while not batch.dead:
        try:
            value = await step
        except GeneratorExit:  # closed unfinished (its task destroyed): unwind without awaiting again
            batch.closing = True
            with contextlib.suppress(BaseException):
                batch.throw(*sys.exc_info())
            raise
        except BaseException:
            step = batch.throw(*sys.exc_info())
        else:
            step = batch.switch(value)
    return cast(T, step)


class LoopCursor:
    """A statement's result, read when asked (in pipeline mode, the read waits for the server)."""

    def __init__(self, cursor: psycopg.AsyncCursor[Row]) -> None:
        self._cursor = cursor

    def fetchone(self) -> Row | None:
        return wait(self._cursor.fetchone())

    def fetchall(self) -> list[Row]:
        return wait(self._cursor.fetchall())


class LoopConnection:
    """The writer's connection, as the operations call it (see the module's docstring)."""

    def __init__(self, conn: psycopg.AsyncConnection[Row]) -> None:
        self.raw = conn

    def execute(self, query: QueryNoTemplate, params: Params | None = None) -> LoopCursor:
        return LoopCursor(wait(self.raw.execute(query, params)))

    def commit(self) -> None:
        wait(self.raw.commit())

    def rollback(self) -> None:
        wait(self.raw.rollback())

    def close(self) -> None:
        wait(self.raw.close())

    @property
    def closed(self) -> bool:
        return self.raw.closed

    @property
    def broken(self) -> bool:
        return self.raw.broken

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """psycopg's pipeline mode. A block that fails raises its own error: ending the pipeline
        after it fails too when the pipeline is aborted (behind a failed statement) or the
        connection is lost, which psycopg would log as a warning of its own; here that is
        expected, and the writer rolls back or reconnects."""
        pipeline = self.raw.pipeline()
        wait(pipeline.__aenter__())
        try:
            yield
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                wait(pipeline.__aexit__(None, None, None))
            raise
        else:
            wait(pipeline.__aexit__(None, None, None))
