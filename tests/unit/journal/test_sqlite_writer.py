"""The group-commit writer over a bare SQLite connection: batches, commits, cancellation."""

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder.journal.sqlite_writer import GroupCommitWriter

FULL, NORMAL = 2, 1  # PRAGMA synchronous


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    opened = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    opened.execute("PRAGMA journal_mode = WAL")
    opened.execute("PRAGMA synchronous = FULL")
    yield opened
    opened.close()


def synchronous(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


async def test_a_batch_with_a_durable_operation_commits_with_a_full_sync_and_others_without(
    conn: sqlite3.Connection,
) -> None:
    writer = GroupCommitWriter(conn, lambda: None)
    try:
        assert await writer.submit(synchronous, durable=False) == NORMAL
        durable, other = writer.submit(synchronous, durable=True), writer.submit(synchronous, durable=False)
        assert list(await asyncio.gather(durable, other)) == [FULL, FULL], "one transaction, one fsync"
    finally:
        await writer.close()


async def test_a_rollback_is_told_before_the_callers(conn: sqlite3.Connection) -> None:
    events: list[str] = []

    def broken(c: sqlite3.Connection) -> None:
        raise ValueError("a bug")

    writer = GroupCommitWriter(conn, lambda: events.append("rolled back"))
    try:
        failing = writer.submit(broken, durable=False, then=lambda *_: events.append("told"))
        with pytest.raises(ValueError):
            await failing
    finally:
        await writer.close()
    assert events[-1] == "told" and "rolled back" in events


def test_an_operation_still_unsettled_when_the_loop_closes_tells_then_once(tmp_path: Path) -> None:
    """At shutdown the writer may be cancelled while it runs a failed batch again one operation
    at a time; an operation not yet settled must still tell `then` (the engine gives back the
    workers it took for it), and its future is cancelled, not left waiting forever."""
    told: list[tuple[object, BaseException | None]] = []
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)

    def broken(c: sqlite3.Connection) -> None:
        raise ValueError("a bug in another operation of the same batch")

    async def submit_then_leave() -> tuple[
        "asyncio.Future[None]", "asyncio.Future[None]", GroupCommitWriter[sqlite3.Connection]
    ]:
        writer = GroupCommitWriter(conn, lambda: None)
        failing = writer.submit(broken, durable=False)
        durable = writer.submit(lambda c: None, durable=True, then=lambda *outcome: told.append(outcome))
        await asyncio.sleep(0)  # the batch failed; the durable one's own commit is on its way to the disk
        return failing, durable, writer  # asyncio.run now cancels the writer, as a closing loop does

    failing, durable, writer = asyncio.run(submit_then_leave())
    try:
        assert isinstance(failing.exception(), ValueError), "settled, not left waiting forever"
        assert durable.cancelled()
        [(result, error)] = told
        assert result is None and isinstance(error, asyncio.CancelledError)
    finally:
        asyncio.run(writer.close())
        conn.close()
