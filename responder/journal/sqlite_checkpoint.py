"""The SQLite journal's WAL checkpoints, on a thread and a connection of their own.

A PASSIVE checkpoint copies the WAL into the database without ever waiting for the writer, so
no commit pays for the copy. It copies what was committed when it began; under writes that
never pause more always was by the time it ended, and SQLite starts the WAL over only once
everything is copied, so the WAL would grow with everything written. Past `reset_frames` the
checkpointer therefore syncs the database itself and asks the writer to restart the WAL between
two of its transactions (`restart_wal`), which copies only the last frames.

The bound is large (1 GiB of 4 KiB pages): a restart needs the database synced, and that sync
holds the disk for as long as everything copied since the last one takes to write, felt by
every commit meanwhile. Real traffic pauses, and in a pause SQLite restarts the WAL by itself.
"""

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from responder.journal.sqlite_schema import BUSY_TIMEOUT_MS

CHECKPOINT_SECONDS = 1.0
WAL_RESET_FRAMES = 262_144
log = logging.getLogger("responder.journal")


class Checkpointer:
    """Every `every_seconds`, copy the WAL of the journal at `path`; past `reset_frames`, sync
    the database and call `restart_due` (from this thread) so that the writer restarts the WAL."""

    def __init__(self, path: Path, every_seconds: float, reset_frames: int, restart_due: Callable[[], None]) -> None:
        self._path, self._every, self._reset_frames = path, every_seconds, reset_frames
        self._restart_due = restart_due
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        """Stop, after a last checkpoint that truncates the WAL."""
        self._stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 1000")
        try:
            while not self._stop.wait(self._every):
                try:
                    if self._copy_wal(conn):
                        # SQLite syncs the database only after a checkpoint that found no commit
                        # made while it copied: under sustained writes, never. Synced here,
                        # outside SQLite's locks, commits go on instead of waiting for the
                        # restart's own sync.
                        _sync(self._path)
                        self._restart_due()
                except (sqlite3.Error, OSError) as exc:  # retried next round; the WAL only grows meanwhile
                    log.warning("journal checkpoint failed", extra={"error": str(exc)})
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def _copy_wal(self, conn: sqlite3.Connection) -> bool:
        """Copy the WAL; whether it is past its bound, so that the writer should restart it."""
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return bool(frames >= self._reset_frames)


def restart_wal(conn: sqlite3.Connection) -> bool:
    """RESTART the WAL on the writer's connection, between two of its transactions, without
    waiting: a reader on an older snapshot would otherwise hold every write for the whole busy
    timeout, each time it is asked. Whether it restarted."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        # Every row fetched: a statement left open would make the next COMMIT fail.
        [(busy, _, _)] = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return not busy


def _sync(path: Path) -> None:
    database = os.open(path, os.O_RDONLY)
    try:
        os.fsync(database)
    finally:
        os.close(database)
