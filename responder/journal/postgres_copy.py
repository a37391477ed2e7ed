"""`responder journal copy`: an existing SQLite journal moved into an empty PostgreSQL one.

Everything is copied, ids included, in one transaction: open instances, pending steps, holds,
operations, escalation state and the history. The SQLite journal is started first, which takes
its lock (no responder may be running on it), brings its schema up to date and hands back what
a crash left running. The target is migrated, then refused unless every table is empty.
"""

import sqlite3
from contextlib import closing
from pathlib import Path

from responder.journal.postgres_schema import TABLES, migrate
from responder.journal.postgres_session import SyncConnection, connect
from responder.journal.sqlite import SqliteJournal


class TargetNotEmptyError(RuntimeError):
    """The PostgreSQL database already holds a journal's rows."""


async def copy_sqlite(source: Path, dsn: str, where: str) -> dict[str, int]:
    """Copy the SQLite journal at `source` into the database `dsn` names (`where`, for
    messages); how many rows each table received."""
    journal = SqliteJournal(source)
    await journal.start()
    try:
        return _copy(source, dsn, where)
    finally:
        await journal.close()


def _copy(source: Path, dsn: str, where: str) -> dict[str, int]:
    with connect(dsn, autocommit=True) as target, closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        migrate(target, where)
        if used := [t for t in TABLES if _rows(target, t)]:
            raise TargetNotEmptyError(
                f"{where} already holds a journal ({', '.join(used)} not empty): copy into a new, empty database,"
                " or drop its tables first if what it holds is not needed"
            )
        with target.transaction():
            return {table: _copy_table(db, target, table) for table in TABLES}


def _rows(target: SyncConnection, table: str) -> bool:
    row = target.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
    return bool(row and row[0])


def _copy_table(db: sqlite3.Connection, target: SyncConnection, table: str) -> int:
    """The columns both journals have, row for row (a column only PostgreSQL has stays NULL)."""
    theirs = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    ours = [
        r[0]
        for r in target.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]
    columns = [c for c in ours if c in theirs]
    count = 0
    with target.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            copy.write_row(row)
            count += 1
    if "id" in columns:
        target.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL)"
            f" FROM {table}"
        )
    return count
