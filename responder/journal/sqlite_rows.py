"""The SQLite journal's shared vocabulary: statuses as bound values, the instance columns and
their decoding, the kind check for SQL literals, JSON as stored, and the journal's connection.
Every sqlite_* module that reads or writes steps and instances uses these."""

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from responder.journal import STEP_KINDS, Instance
from responder.vocabulary import AttemptOutcome, StepStatus

# Statuses as bound parameters, plain str: sqlite3 binds a str subclass (an enum member) only
# after an adapter look-up.
PENDING, RUNNING, CANCELLED = str(StepStatus.PENDING), str(StepStatus.RUNNING), str(StepStatus.CANCELLED)
INTERRUPTED = str(AttemptOutcome.INTERRUPTED)
INSTANCE_COLUMNS = "id, fingerprint, starts_at, status, alertname, severity, action, labels, annotations, last_seen"
JOINED_INSTANCE_COLUMNS = ", ".join(f"i.{c.strip()}" for c in INSTANCE_COLUMNS.split(","))


def instance_from_row(row: Sequence[Any]) -> Instance:
    return Instance(
        id=row[0],
        fingerprint=row[1],
        starts_at=row[2],
        status=row[3],
        alertname=row[4],
        severity=row[5],
        action=row[6],
        labels_json=row[7],
        annotations_json=row[8],
        last_seen=row[9],
    )


def step_kind(kind: str) -> str:
    """`kind` checked against STEP_KINDS, for SQL that names it as a literal.

    Statements on `steps` name its kind and status as literals, never as bound parameters: the
    table has partial indexes on `kind = 'remediation'` and `status = 'running'`, and SQLite
    re-prepares a statement on every run when a bound value is compared with a partial index's
    condition. The perf test `..._are_prepared_once` fails on any statement of an alert's life
    prepared twice."""
    if kind not in STEP_KINDS:
        raise ValueError(f"unknown step kind {kind!r}: expected one of {', '.join(STEP_KINDS)}")
    return kind


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class JournalConnection(sqlite3.Connection):
    """The journal's one connection, with the instances it has read or written. SQLite's journal
    has a single process and a single writing connection (a file lock sees to the first), so
    every change to an instance passes through a SqliteTransaction on this connection, which
    keeps the cache current; a rollback clears it. A repeat, most of what Alertmanager sends,
    then needs no read at all."""

    CACHED_INSTANCES = 65_536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance_cache: dict[tuple[str, str], Instance] = {}

    def remember(self, instance: Instance) -> None:
        if len(self.instance_cache) >= self.CACHED_INSTANCES:
            self.instance_cache.clear()
        self.instance_cache[(instance.fingerprint, instance.starts_at)] = instance
