"""Reads of the PostgreSQL journal that change nothing (the API's and the console's views, and
when a dispatcher's next step is due), on a connection and a thread of their own.

They stay out of the writer's batches: a slow read neither delays the webhook's transactions
nor, when it runs past its own statement timeout, fails them or marks the database
unavailable; only its caller hears of it. The connection is in autocommit mode: each statement
reads what was committed when it began. It is made at the first read, and again after a read
found it broken.
"""

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

import psycopg

from responder.journal.group_commit import off_loop
from responder.journal.postgres_session import SyncConnection

T = TypeVar("T")


class Reader:
    """`connect` makes the reads' connection (on the reader's thread): autocommit, with its own
    statement timeout."""

    def __init__(self, connect: Callable[[], SyncConnection]) -> None:
        self._connect = connect
        self._conn: SyncConnection | None = None
        self._loop = asyncio.get_running_loop()
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal-reader")

    async def read(self, fn: Callable[[SyncConnection], T]) -> T:
        """`fn(conn)` on the reader's thread, after the reads asked before it."""
        return await off_loop(self._loop, self._thread, lambda: self._read(fn))

    def _read(self, fn: Callable[[SyncConnection], T]) -> T:
        """A connection kept from an earlier read may have been dropped by the server since (a
        restart, a failover): found broken, the read runs once more on a new one."""
        kept = self._conn is not None and not self._conn.closed and not self._conn.broken
        conn = self._connection()
        try:
            return fn(conn)
        except psycopg.OperationalError:
            if not kept or not conn.broken:
                raise
        return fn(self._connection())

    def _connection(self) -> SyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._connect()
        return self._conn

    async def close(self) -> None:
        """Close the connection once the reads asked before are done."""
        if self._conn is not None:
            await off_loop(self._loop, self._thread, self._conn.close)
            self._conn = None
        self._thread.shutdown()
