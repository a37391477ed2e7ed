"""The PostgreSQL journal never blocks the event loop on a round trip: the writer's operations
run in a greenlet on the loop and await the server where they would wait (postgres_loop), and
the reads run on a connection and a thread of their own, so a slow statement neither stalls
the loop nor a concurrent write."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

from responder.journal.postgres import PostgresJournal  # noqa: E402
from responder.journal.postgres_loop import LoopConnection, run_sync, wait  # noqa: E402
from tests.conftest import started  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

SLOW_SECONDS = 0.5


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.fresh_dsn()


@pytest.fixture
async def journal(dsn: str) -> AsyncIterator[PostgresJournal]:
    async with started(PostgresJournal(dsn, replica="a")) as opened:
        yield opened


async def longest_stall(work: "asyncio.Future[Any]") -> float:
    """The longest the loop went without running a 10 ms tick while `work` was under way."""
    longest, last = 0.0, time.monotonic()
    while not work.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    await work
    return longest


async def test_synchronous_code_gets_what_it_waits_for_and_the_loop_runs_meanwhile() -> None:
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.005)

    async def answer(value: int) -> int:
        await asyncio.sleep(0.05)
        return value

    ticker = asyncio.ensure_future(tick())
    try:
        assert await run_sync(lambda a, b: wait(answer(a)) + wait(answer(b)), 1, 2) == 3
    finally:
        ticker.cancel()
    assert len(ticks) >= 5, "the loop did not run while the synchronous code waited"


async def test_an_awaited_error_is_raised_where_the_synchronous_code_waits() -> None:
    async def fails() -> None:
        raise ValueError("the server said no")

    def catches() -> str:
        try:
            wait(fails())
        except ValueError as exc:
            return f"caught: {exc}"
        return "not raised"

    assert await run_sync(catches) == "caught: the server said no"
    with pytest.raises(ValueError, match="the server said no"):
        await run_sync(lambda: wait(fails()))


async def test_a_cancelled_batch_unwinds_its_synchronous_code() -> None:
    unwound: list[str] = []

    def waits_long() -> None:
        try:
            wait(asyncio.sleep(10))
        finally:
            unwound.append("finally ran")

    running = asyncio.ensure_future(run_sync(waits_long))
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert unwound == ["finally ran"]


async def test_a_batch_closed_unfinished_unwinds_without_awaiting_again() -> None:
    """Its task destroyed with the loop: the cleanup that would wait (a rollback) is refused, and
    the greenlet ends instead of staying suspended."""
    unwound: list[str] = []

    def waits_forever() -> None:
        try:
            wait(asyncio.get_running_loop().create_future())
        finally:
            try:
                wait(asyncio.sleep(0))
            except RuntimeError as exc:
                unwound.append(str(exc))

    running = run_sync(waits_forever)
    running.send(None)  # up to the first wait
    running.close()
    assert unwound == ["the event loop closed while the journal's writer was in a batch; nothing more is sent"]


async def test_waiting_outside_a_batch_is_refused_with_what_to_do() -> None:
    pending = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="outside the writer's batch; submit the operation to the writer"):
        wait(pending)
    await pending


async def test_a_statement_failing_in_a_pipeline_raises_its_own_error_and_warns_of_nothing(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement's error may surface as a later one is sent, which the pipeline then aborts,
    so ending the pipeline fails too: that is expected (the writer rolls back), and only the
    statement's error reaches the caller."""
    caplog.set_level(logging.INFO)
    conn = LoopConnection(await psycopg.AsyncConnection.connect(dsn))

    def batch() -> None:
        with conn.pipeline():
            conn.execute("SELECT 1 / 0")
            wait(asyncio.sleep(0.2))  # its error arrives, and is raised by the next statement sent
            conn.execute("SELECT 1")

    try:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await run_sync(batch)
        await conn.raw.rollback()
        assert (await (await conn.raw.execute("SELECT 2")).fetchone()) == (2,), "the connection is usable again"
    finally:
        await conn.raw.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_writes_round_trip_does_not_block_the_loop(journal: PostgresJournal) -> None:
    slow = asyncio.ensure_future(journal.run(lambda conn: conn.execute(f"SELECT pg_sleep({SLOW_SECONDS})").fetchone()))
    assert await longest_stall(slow) < SLOW_SECONDS / 2


async def test_a_slow_read_neither_delays_nor_fails_a_write(journal: PostgresJournal, dsn: str) -> None:
    """A read held up by a lock (until its statement timeout) while writes go on: they commit
    at once, and its timeout fails only the read; the database is not marked unavailable."""
    with psycopg.connect(dsn) as other:
        other.execute("LOCK TABLE steps IN ACCESS EXCLUSIVE MODE")
        read = asyncio.ensure_future(journal.leases())
        await asyncio.sleep(0.1)
        began = time.monotonic()
        await journal.append_notification(b"{}", "c1", 1.0)
        assert time.monotonic() - began < 1.0, "the write waited for the read"
        assert not read.done()
        with pytest.raises(psycopg.errors.QueryCanceled):
            await read
        other.rollback()
    assert journal.write_problem() is None
    await journal.append_notification(b"{}", "c2", 2.0)
    assert await journal.leases() == []
