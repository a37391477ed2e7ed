"""The SQLite journal's WAL checkpoints, on a thread and a connection of their own.

A PASSIVE checkpoint copies the WAL into the database without ever waiting for the writer, so
no commit pays for the copy. It copies what was committed when it began; under writes that
never pause more always was by the time it ended, and SQLite starts the WAL over only once
everything is copied, so the WAL would grow with everything written. Past `reset_frames` (the
WAL's bound, journal.wal_max) the checkpointer therefore syncs the database itself and asks the
writer to restart the WAL between two of its transactions (`restart_wal`), which copies only the
last frames; the writer's connection has journal_size_limit set to the same bound, so the WAL
file shrinks back to it when it starts over.

The bound is not small: a restart needs the database synced, and that sync holds the disk for as
long as everything copied since the last one takes to write, felt by every commit meanwhile.
Real traffic pauses, and in a pause SQLite restarts the WAL by itself; a round that finds the
WAL all copied and unchanged since the last round (nothing committed for a round) TRUNCATEs it,
giving its space back to the disk without waiting for anyone (busy timeout 0: a commit that
started meanwhile wins and the next idle round tries again).

Each round also measures the journal's free space (sqlite_space) and hands it to `measured`.
"""

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from responder.journal.sqlite_schema import BUSY_TIMEOUT_MS
from responder.journal.sqlite_space import Space, measure

CHECKPOINT_SECONDS = 1.0
log = logging.getLogger("responder.journal")


class Checkpointer:
    """Every `every_seconds`, measure the free space against `reserve` and tell `measured`, then
    copy the WAL of the journal at `path`; past `reset_frames`, sync the database and call
    `restart_due` so that the writer restarts the WAL; idle, truncate it. Both callbacks are
    called from this thread."""

    def __init__(
        self,
        path: Path,
        every_seconds: float,
        reset_frames: int,
        reserve: int,
        restart_due: Callable[[], None],
        measured: Callable[[Space], None],
    ) -> None:
        self._path, self._every, self._reset_frames, self._reserve = path, every_seconds, reset_frames, reserve
        self._restart_due, self._measured = restart_due, measured
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
        conn.execute("PRAGMA busy_timeout = 0")  # PASSIVE never waits; TRUNCATE, when idle, must not
        frames, failing = 0, ""
        try:
            while not self._stop.wait(self._every):
                try:
                    frames = self._round(conn, frames)
                except (sqlite3.Error, OSError) as exc:  # retried next round; the WAL only grows meanwhile
                    if str(exc) != failing:  # once per error, not once a second while it lasts
                        log.warning("journal checkpoint failed; retried each round", extra={"error": str(exc)})
                    failing = str(exc)
                    continue
                if failing:
                    log.info("journal checkpoint succeeds again", extra={"error": failing})
                    failing = ""
            conn.execute("PRAGMA busy_timeout = 1000")  # the last one waits a little for the writer
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def _round(self, conn: sqlite3.Connection, last_frames: int) -> int:
        """Measure, copy the WAL, restart or truncate it if due; the WAL's frames after it."""
        self._measured(measure(self._path, self._reserve))
        _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= self._reset_frames:
            # SQLite syncs the database only after a checkpoint that found no commit made while
            # it copied: under sustained writes, never. Synced here, outside SQLite's locks,
            # commits go on instead of waiting for the restart's own sync.
            _sync(self._path)
            self._restart_due()
        elif frames and frames == copied == last_frames:  # all copied, and nothing written for a round
            [(busy, _, _)] = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return int(busy and frames)  # busy: a commit came first; the next idle round tries again
        return int(frames)


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
