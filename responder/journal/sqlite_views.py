"""Read models of the SQLite journal for the audit API, the console and the benchmark: alert
instances, a console's page of them, one fingerprint's timeline, and the time from a
notification to its first remediation."""

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from responder.journal import Listing, read_models
from responder.journal.read_models import SQLITE


def _fetch(conn: sqlite3.Connection) -> read_models.Fetch:
    return lambda sql, values: conn.execute(sql, values).fetchall()


def instances(conn: sqlite3.Connection, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    return read_models.instances(_fetch(conn), SQLITE, filters, limit)


def listing(conn: sqlite3.Connection, query: Listing) -> list[dict[str, Any]]:
    return read_models.listing(_fetch(conn), SQLITE, query)


def acknowledgements(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return read_models.acknowledgements(_fetch(conn), SQLITE, limit)


def timeline(conn: sqlite3.Connection, fingerprint: str) -> list[dict[str, Any]]:
    return read_models.timeline(_fetch(conn), SQLITE, fingerprint)


def start_latencies_ms(journal_path: Path, since: float = 0.0) -> list[float]:
    """Per notification received from `since` on: its first remediation attempt's start minus its
    arrival, in milliseconds. Reads the journal file on a connection of its own (the benchmark
    reads it beside, or after, the responder that wrote it)."""
    with closing(sqlite3.connect(journal_path)) as db:
        rows = db.execute(
            "SELECT n.received_at, MIN(a.started_at) FROM notifications n"
            " JOIN steps s ON s.correlation_id LIKE n.correlation_id || '/%' AND s.kind = 'remediation'"
            " JOIN attempts a ON a.step_id = s.id WHERE n.received_at >= ? GROUP BY n.id",
            (since,),
        ).fetchall()
    return [(started - received) * 1000 for received, started in rows]
