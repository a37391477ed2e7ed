"""What tests read from a SQLite journal file beside the responder that writes it: the one place
outside responder/journal/ that knows the journal's tables. Each function opens its own
connection (as after a crash, or from another process), read-only unless it says it writes,
and closes it."""

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        yield db


@contextmanager
def _writing(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, timeout=10)) as db:
        yield db


def _one(path: Path, sql: str, *params: Any) -> Any:
    with _reading(path) as db:
        return db.execute(sql, params).fetchone()[0]


def body(path: Path, notification_id: int) -> bytes | None:
    """The body journaled under `notification_id`, or None when there is none."""
    with _reading(path) as db:
        row = db.execute("SELECT body FROM notifications WHERE id = ?", (notification_id,)).fetchone()
    return None if row is None else bytes(row[0])


def bodies(path: Path) -> list[bytes]:
    """Every journaled notification's body, in the order they arrived."""
    with _reading(path) as db:
        return [bytes(b) for (b,) in db.execute("SELECT body FROM notifications ORDER BY id")]


def received_times(path: Path) -> list[float]:
    with _reading(path) as db:
        return [at for (at,) in db.execute("SELECT received_at FROM notifications ORDER BY id")]


def notification_count(path: Path) -> int:
    return int(_one(path, "SELECT COUNT(*) FROM notifications"))


def applied_ids(path: Path) -> set[int]:
    """The notifications applied (processed) so far."""
    with _reading(path) as db:
        return {nid for (nid,) in db.execute("SELECT id FROM notifications WHERE processed_at IS NOT NULL")}


def unapplied_count(path: Path) -> int:
    return int(_one(path, "SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL"))


def instance_count(path: Path) -> int:
    return int(_one(path, "SELECT COUNT(*) FROM instances"))


def fingerprints(path: Path) -> set[str]:
    with _reading(path) as db:
        return {fp for (fp,) in db.execute("SELECT fingerprint FROM instances")}


def unfinished_count(path: Path, due_before: float = math.inf) -> int:
    """Notifications not yet applied, plus steps pending or running that are due before
    `due_before` (a ladder rung due minutes from now is not work left)."""
    return int(
        _one(
            path,
            "SELECT (SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL)"
            " + (SELECT COUNT(*) FROM steps WHERE status IN ('pending', 'running') AND due_at <= ?)",
            due_before,
        )
    )


def succeeded_remediations(path: Path) -> int:
    return int(_one(path, "SELECT COUNT(*) FROM steps WHERE kind = 'remediation' AND status = 'succeeded'"))


def running_steps(path: Path) -> int:
    return int(_one(path, "SELECT COUNT(*) FROM steps WHERE status = 'running'"))


def step_statuses(path: Path) -> dict[str, int]:
    """How many steps are in each status."""
    with _reading(path) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM steps GROUP BY status").fetchall())


def remediations_per_instance(path: Path) -> dict[int, int]:
    """Every alert instance's id and how many remediation steps it has (0 included)."""
    with _reading(path) as db:
        return dict(
            db.execute(
                "SELECT i.id, COUNT(s.id) FROM instances i LEFT JOIN steps s ON s.instance_id = i.id"
                " AND s.kind = 'remediation' GROUP BY i.id"
            ).fetchall()
        )


def successes_per_step(path: Path) -> dict[int, int]:
    """Each step with no attempt, or with a successful one: how many attempts succeeded."""
    with _reading(path) as db:
        return dict(
            db.execute(
                "SELECT s.id, COUNT(a.id) FROM steps s LEFT JOIN attempts a ON a.step_id = s.id"
                " WHERE a.status = 'succeeded' OR a.id IS NULL GROUP BY s.id"
            ).fetchall()
        )


def firing_events(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(instance id, detail) of every `firing` event."""
    with _reading(path) as db:
        rows = db.execute("SELECT instance_id, detail FROM events WHERE kind = 'firing'").fetchall()
    return [(instance, json.loads(detail)) for instance, detail in rows]


def delivered_steps(path: Path) -> set[int]:
    """Steps with a delivery the provider confirmed (an id it gave back)."""
    with _reading(path) as db:
        return {step for (step,) in db.execute("SELECT step_id FROM deliveries WHERE provider_id IS NOT NULL")}


def inconsistencies(path: Path) -> list[str]:
    """What is wrong with the file and its references; empty when nothing is."""
    with _reading(path) as db:
        problems = [r for (r,) in db.execute("PRAGMA integrity_check") if r != "ok"]
        orphans = {
            "steps without their instance": "SELECT COUNT(*) FROM steps s LEFT JOIN instances i"
            " ON i.id = s.instance_id WHERE i.id IS NULL",
            "attempts without their step": "SELECT COUNT(*) FROM attempts a LEFT JOIN steps s"
            " ON s.id = a.step_id WHERE s.id IS NULL",
        }
        for what, sql in orphans.items():
            count = db.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {what}")
    return problems


def schema_version(path: Path) -> int:
    return int(_one(path, "PRAGMA user_version"))


def set_schema_version(path: Path, version: int) -> None:
    """Mark the file as written by schema `version` (a newer responder's, say)."""
    with _writing(path) as db:
        db.execute(f"PRAGMA user_version = {int(version)}")


def tables(path: Path) -> list[str]:
    with _reading(path) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]


def indexes(path: Path) -> list[str]:
    with _reading(path) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")]


def write_previous_schema_journal(path: Path, ddl: str, now: float) -> None:
    """A journal as a responder of the schema `ddl` (without versions) left it: an alert instance
    firing with a pending stop and an attempt at it, a notification not yet applied, a hold and
    an operation."""
    with _writing(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(ddl)
        db.executescript(
            f"""
            BEGIN;
            INSERT INTO notifications (received_at, correlation_id, body, processed_at)
                VALUES ({now}, 'old-1', x'7b7d', {now}), ({now}, 'old-2', x'7b7d', NULL);
            INSERT INTO instances (fingerprint, starts_at, status, alertname, severity, action, labels,
                annotations, first_seen, last_seen)
                VALUES ('fp-old', '2026-01-01T00:00:00Z', 'firing', 'X', 'critical', 'EMERGENCY_STOP',
                '{{"alertname":"X"}}', '{{}}', {now}, {now});
            INSERT INTO steps (instance_id, key, kind, name, target_key, params, status, due_at, created_at,
                updated_at, correlation_id)
                VALUES (1, 'remediation:EMERGENCY_STOP:n/d', 'remediation', 'EMERGENCY_STOP', 'n/d',
                '{{"target":{{"deployment":"d","namespace":"n"}}}}', 'pending', {now}, {now}, {now}, 'old-1/0');
            INSERT INTO attempts (step_id, started_at, finished_at, status, detail)
                VALUES (1, {now}, {now}, 'retry', '{{"error":"503"}}');
            INSERT INTO holds (state, namespace, deployment, holder, since, detail)
                VALUES ('frozen', 'n', 'other', 'fp-old@2026-01-01T00:00:00Z', {now}, '{{}}');
            INSERT INTO operations (at, actor, op, target, ok, detail)
                VALUES ({now}, 'alice', 'UNFREEZE', '{{"deployment":"x","namespace":"n"}}', 1, '{{}}');
            COMMIT;
            """
        )
