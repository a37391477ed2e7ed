"""What only the SQLite journal promises: the file on disk, its lock, recovery at start, the
database failing under a batch, and its WAL."""

import asyncio
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from responder.journal import StepResult, StoredNotification, Transaction
from responder.journal.sqlite import JournalLockedError, SqliteJournal
from responder.vocabulary import StepKind
from tests import journal_rows
from tests.conftest import started
from tests.unit.journal.plans import ALERT, NOW, STOP, claim, plan

FRAME = 4096 + 24  # a page and its header in the WAL


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    """SQLite only, whatever backends the package's `journal` fixture runs. No checkpointer
    round during a test: its write probe would clear a failure a test sets up on purpose."""
    async with started(SqliteJournal(tmp_path / "journal.db", checkpoint_seconds=3600)) as opened:
        yield opened


async def test_an_appended_notification_is_committed_when_append_returns(
    journal: SqliteJournal, tmp_path: Path
) -> None:
    nid = await journal.append_notification(b'{"v": 1}', "c1", NOW)
    assert journal_rows.body(tmp_path / "journal.db", nid) == b'{"v": 1}'  # an independent reader, as after a crash


async def test_an_accepted_notification_and_what_applying_it_wrote_are_committed_together(
    journal: SqliteJournal, tmp_path: Path
) -> None:
    def apply(tx: Transaction, stored: StoredNotification) -> None:
        tx.insert_instance(ALERT, NOW)

    nid, _ = await journal.accept(b"{}", "c1", NOW, apply)
    assert journal_rows.applied_ids(tmp_path / "journal.db") == {nid}
    assert journal_rows.fingerprints(tmp_path / "journal.db") == {"fp1"}


async def test_steps_a_crash_left_running_are_resumed_on_start(tmp_path: Path) -> None:
    first = SqliteJournal(tmp_path / "j.db")
    await first.start()
    await plan(first, STOP)
    assert len(await claim(first, StepKind.REMEDIATION, 1, NOW, 600)) == 1
    await first.close()  # as if killed mid-step: the row stays `running`
    second = SqliteJournal(tmp_path / "j.db")
    await second.start()
    [resumed] = await claim(second, StepKind.REMEDIATION, 1, NOW + 5, 600)
    assert resumed.name == "EMERGENCY_STOP"
    assert resumed.interrupted, "the runner must know that the first attempt may have acted"
    await second.finish_step(resumed, StepResult("succeeded", {}), NOW + 5, NOW + 6, None)
    [instance] = await second.timeline("fp1")
    attempts = instance["steps"][0]["attempts"]
    assert [(a["status"], a["started_at"]) for a in attempts] == [("interrupted", NOW), ("succeeded", NOW + 5)]
    assert "interrupted by restart" in attempts[0]["detail"]["error"]
    await second.close()


async def test_a_second_process_cannot_open_the_same_journal(journal: SqliteJournal, tmp_path: Path) -> None:
    with pytest.raises(JournalLockedError, match="in use by another responder process"):
        await SqliteJournal(tmp_path / "journal.db").start()


async def test_a_batch_the_database_failed_leaves_what_it_applied_unapplied(journal: SqliteJournal) -> None:
    """One batch: ingest applies the waiting notification, an accept then finds nothing waiting,
    and the database fails the batch. The rollback leaves the first unapplied again, and the
    next accept must see it."""

    def applies(tx: Transaction, stored: StoredNotification) -> int:
        return stored.id

    waiting = await journal.append_notification(b"{}", "waits", NOW)

    def database_fails(tx: Transaction) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def accept_g() -> tuple[int, int | None]:
        return await journal.accept(b"{}", "g", NOW, applies)

    outcomes = await asyncio.gather(  # tasks: each submits in turn, before the writer runs
        journal.transact(lambda tx: tx.mark_processed([waiting], NOW)),
        accept_g(),
        journal.transact(database_fails),
        return_exceptions=True,
    )
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    assert "disk I/O error" in (journal.write_problem() or ""), "the database itself failed"
    assert [s.id for s in await journal.unprocessed(10)] == [waiting]
    assert journal.write_problem() is not None, "a read proves nothing about the next write"
    await journal.append_notification(b"{}", "writes", NOW)
    assert journal.write_problem() is None, "a write succeeded since"
    assert (await journal.accept(b"{}", "h", NOW, applies))[1] is None, "the rolled-back one still waits"


async def test_a_closed_journal_refuses_work_and_says_so(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "journal.db")
    await journal.start()
    await journal.close()
    assert "not started" in (journal.write_problem() or "")
    with pytest.raises(RuntimeError, match="not started, or was closed"):
        journal.accept(b"{}", "c1", NOW, lambda tx, stored: None)


async def test_the_wal_restarts_under_writes_that_never_pause(tmp_path: Path) -> None:
    """PASSIVE checkpoints copy what was committed when they began: under writes that never
    pause, more always was, and the WAL would grow with everything written. Past its bound the
    writer restarts it between two transactions."""
    journal = SqliteJournal(tmp_path / "journal.db", checkpoint_seconds=0.01, wal_max=64 * FRAME)
    await journal.start()
    written, wal = 0, tmp_path / "journal.db-wal"

    async def appender() -> None:
        nonlocal written
        for _ in range(300):
            await journal.append_notification(bytes(8192), "c", NOW)
            written += 8192

    try:
        await asyncio.gather(*(appender() for _ in range(8)))  # the writer is never without work for long
        largest = wal.stat().st_size
    finally:
        await journal.close()
    assert written > 16_000_000
    assert largest < 4_000_000, f"the WAL grew to {largest} bytes"


async def test_a_reader_on_an_old_snapshot_does_not_hold_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart waits for readers on older snapshots (a sqlite3 shell, a backup). Under the
    writer's busy timeout that would hold every write for 5 s, again each second: the restart
    gives up at once, says why, and is asked again later."""
    journal = SqliteJournal(tmp_path / "journal.db", checkpoint_seconds=0.01, wal_max=64 * FRAME)
    await journal.start()
    reader = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    try:
        await journal.append_notification(bytes(8192), "c", NOW)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()  # its snapshot is held until it ends
        for _ in range(500):
            await asyncio.wait_for(journal.append_notification(bytes(8192), "c", NOW), timeout=3)
            if "journal WAL not restarted" in caplog.text:
                break
    finally:
        reader.close()
        await journal.close()
    [warning, *_] = [r for r in caplog.records if r.getMessage().startswith("journal WAL not restarted")]
    assert "older snapshot" in warning.__dict__["error"]


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_022")
async def test_the_journal_directory_and_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.db"
    async with started(SqliteJournal(path)) as opened:
        await opened.append_notification(b"{}", "c1", NOW)
        files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", ".lock"))]
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert modes == dict.fromkeys(modes, 0o600) and len(modes) == 4


@pytest.mark.usefixtures("umask_022")
async def test_a_journal_others_could_read_is_made_owner_only_at_start(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with started(SqliteJournal(path)):
        pass
    path.chmod(0o644)
    async with started(SqliteJournal(path)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
