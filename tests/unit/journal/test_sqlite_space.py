"""The SQLite journal on a disk that fills: the free-space reserve, readiness, and a WAL that
gives its space back."""

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from responder.journal import JournalFullError
from responder.journal.sqlite import SqliteJournal
from tests import journal_rows
from tests.conftest import started
from tests.unit.journal.plans import NOW

ROUND = 0.01  # the checkpointer's round, in these tests


async def test_below_the_reserve_a_notification_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    told: list[tuple[Any, BaseException | None]] = []
    async with started(SqliteJournal(tmp_path / "journal.db", ROUND, reserve=2**62)) as journal:
        refused = journal.accept(b"{}", "c1", NOW, lambda tx, stored: None, lambda r, e: told.append((r, e)))
        with pytest.raises(JournalFullError) as accepted:
            await refused
        with pytest.raises(JournalFullError):
            await journal.append_notification(b"{}", "c2", NOW)
        problem = journal.write_problem()
    message = str(accepted.value)
    assert str(tmp_path) in message and "journal.reserve" in message and "MiB free" in message, message
    assert "the journal holds" in message, "the journal's own size is named"
    assert told == [(None, accepted.value)], "`then` hears of the refusal as of any failure"
    assert problem == message, "readiness says the same"
    assert journal_rows.notification_count(tmp_path / "journal.db") == 0


async def test_above_the_reserve_the_journal_is_ready(journal: SqliteJournal) -> None:
    assert journal.write_problem() is None


async def test_an_idle_wal_is_truncated(tmp_path: Path) -> None:
    """Restarted, a WAL keeps its file's size; idle for a round, it gives it back to the disk."""
    wal = tmp_path / "journal.db-wal"
    async with started(SqliteJournal(tmp_path / "journal.db", ROUND)) as journal:
        for _ in range(20):
            await journal.append_notification(bytes(65_536), "c", NOW)
        assert wal.stat().st_size > 1_000_000, "the test writes a WAL worth truncating"
        deadline = time.monotonic() + 5
        while wal.stat().st_size and time.monotonic() < deadline:
            await asyncio.sleep(ROUND)
        assert wal.stat().st_size == 0, "the idle WAL was not truncated"
        await journal.append_notification(b"{}", "after", NOW)  # and the journal writes on
    assert journal_rows.notification_count(tmp_path / "journal.db") == 21


async def test_a_restarted_wal_shrinks_to_its_bound(tmp_path: Path) -> None:
    """Under writes that never pause the WAL restarts past its bound; its file shrinks back to
    the bound then (journal_size_limit), instead of keeping the largest size it ever had."""
    wal, bound = tmp_path / "journal.db-wal", 64 * (4096 + 24)
    async with started(SqliteJournal(tmp_path / "journal.db", ROUND, wal_max=bound)) as journal:
        await asyncio.gather(*(journal.append_notification(bytes(2_000_000), "big", NOW) for _ in range(2)))
        largest = wal.stat().st_size
        for _ in range(400):
            await journal.append_notification(bytes(1024), "c", NOW)
            if wal.stat().st_size <= bound:
                break
        shrunk = wal.stat().st_size
    assert largest > 4_000_000, "two large notifications in one batch grow the WAL past its bound"
    assert shrunk <= bound, f"the WAL stayed at {shrunk} bytes"
