"""The EscalationStore over the SQLite journal: each method runs in the journal's writer.

Its tables hang off instances and steps; triggers remove them with their parents, so the
journal's retention pruning needs to know nothing about them (see sqlite_schema), except the
webhook event ids, which hang off nothing and are pruned by their own age.
"""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson

from responder.journal import Instance
from responder.journal.escalation import (
    Acknowledgement,
    AckOutcome,
    AckPlanner,
    Callback,
    CallbackOutcome,
    DeliveryMark,
)
from responder.journal.sqlite_rows import CANCELLED, INSTANCE_COLUMNS, dumps, instance_from_row
from responder.journal.sqlite_tx import SqliteTransaction
from responder.vocabulary import StepStatus

T = TypeVar("T")
Runner = Callable[..., Awaitable[Any]]


class SqliteEscalationStore:
    def __init__(self, run: Runner) -> None:
        self._run = run  # SqliteJournal.run: a function of the connection, in the writer's next batch

    async def channel_state(self, instance_id: int, channel: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT state FROM channel_state WHERE instance_id = ? AND channel = ?", (instance_id, channel)
            ).fetchone()
        )
        return dict(orjson.loads(row[0])) if row else None

    async def save_channel_state(self, instance_id: int, channel: str, ref: str, state: dict[str, Any]) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO channel_state (instance_id, channel, ref, state) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (instance_id, channel) DO UPDATE SET ref = excluded.ref, state = excluded.state",
                (instance_id, channel, ref, dumps(state)),
            )
        )

    async def acknowledge(
        self, fingerprint: str, actor: str, via: str, now: float, plan: AckPlanner, starts_at: str | None = None
    ) -> AckOutcome:
        """Acknowledge every firing instance of `fingerprint`, stop its ladder and plan the
        announcement, in one transaction: no rung can slip out between the ack and the stop."""

        def ack(conn: sqlite3.Connection) -> AckOutcome:
            rows = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE fingerprint = ? AND status = 'firing'"
                " AND starts_at = coalesce(?, starts_at) ORDER BY id",
                (fingerprint, starts_at),
            ).fetchall()
            acknowledged, cancelled, already = [], [], None
            for row in rows:
                one = _acknowledge(conn, instance_from_row(row), actor, via, now, plan)
                acknowledged += one.acknowledged
                cancelled += one.cancelled
                already = one.already or already
            return AckOutcome(len(rows), acknowledged, already, cancelled)

        outcome: AckOutcome = await self._run(ack)
        return outcome

    async def first_receipt(self, channel: str, event_id: str, now: float) -> bool:
        def record(conn: sqlite3.Connection) -> bool:
            return bool(_record_receipt(conn, channel, event_id, now))

        first: bool = await self._run(record, durable=True)
        return first

    async def acknowledge_reference(
        self, channel: str, ref: str, event_id: str, actor: str, now: float, plan: AckPlanner
    ) -> CallbackOutcome:
        """What EscalationStore.acknowledge_reference promises: the event id, the lookup and the
        acknowledgement in one of the writer's transactions."""

        def ack(conn: sqlite3.Connection) -> CallbackOutcome:
            if not _record_receipt(conn, channel, event_id, now):
                return CallbackOutcome(Callback.REPLAY)
            row = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = (SELECT instance_id FROM channel_state"
                " WHERE channel = ? AND ref = ? ORDER BY instance_id DESC LIMIT 1)",
                (channel, ref),
            ).fetchone()
            if row is None:
                return CallbackOutcome(Callback.UNKNOWN)
            instance = instance_from_row(row)
            if instance.status != "firing":
                return CallbackOutcome(Callback.RESOLVED, instance)
            return CallbackOutcome(Callback.ACTED, instance, _acknowledge(conn, instance, actor, channel, now, plan))

        outcome: CallbackOutcome = await self._run(ack)
        return outcome

    async def acknowledgement(self, instance_id: int) -> Acknowledgement | None:
        found: Acknowledgement | None = await self._run(lambda conn: _acknowledgement(conn, instance_id))
        return found

    async def stopped_rungs(self, instance_id: int) -> list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT name, json_extract(params, '$.rung') FROM steps WHERE instance_id = ? AND kind = 'escalation'"
                f" AND status = '{StepStatus.CANCELLED}' AND outcome = 'ladder stopped'"
                " AND json_extract(params, '$.event') = 'firing'"
                " ORDER BY id",  # the outcome stop_pending gives the rungs a resolve cancelled
                (instance_id,),
            ).fetchall()
        )
        return [f"{name} (rung {rung})" for name, rung in rows]

    async def begin_delivery(self, step_id: int, recipient: str, now: float) -> DeliveryMark | None:
        """The earlier mark for (step, recipient), or None after writing one, durably, now."""

        def mark(conn: sqlite3.Connection) -> DeliveryMark | None:
            row = conn.execute(
                "SELECT marked_at, provider_id FROM deliveries WHERE step_id = ? AND recipient = ?",
                (step_id, recipient),
            ).fetchone()
            if row:
                return DeliveryMark(row[0], row[1])
            conn.execute(
                "INSERT INTO deliveries (step_id, recipient, marked_at) VALUES (?, ?, ?)", (step_id, recipient, now)
            )
            return None

        found: DeliveryMark | None = await self._run(mark, durable=True)
        return found

    async def confirm_delivery(self, step_id: int, recipient: str, provider_id: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET provider_id = ? WHERE step_id = ? AND recipient = ?",
                (provider_id, step_id, recipient),
            )
        )

    async def acted_targets(
        self, fingerprint: str, action: str, starts_at: str | None = None
    ) -> tuple[Instance, list[dict[str, str]]] | None:

        def read(conn: sqlite3.Connection) -> tuple[Instance, list[dict[str, str]]] | None:
            row = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE fingerprint = ?"
                " AND starts_at = coalesce(?, starts_at) ORDER BY starts_at DESC, id DESC",
                (fingerprint, starts_at),
            ).fetchone()
            if row is None:
                return None
            instance = instance_from_row(row)
            return instance, SqliteTransaction(conn).acted_targets(instance, action)

        found: tuple[Instance, list[dict[str, str]]] | None = await self._run(read)
        return found

    async def record_event(self, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None:
        await self._run(lambda conn: _event(conn, instance_id, kind, detail, now))


def _acknowledge(
    conn: sqlite3.Connection, instance: Instance, actor: str, via: str, now: float, plan: AckPlanner
) -> AckOutcome:
    """Acknowledge one firing instance unless it was before: record who, cancel the firing
    ladder's rungs not yet sent, and plan the announcement."""
    before = _acknowledgement(conn, instance.id)
    if before is not None:
        return AckOutcome(1, already=before)
    conn.execute(
        "INSERT INTO acknowledgements (instance_id, at, actor, via) VALUES (?, ?, ?, ?)",
        (instance.id, now, actor, via),
    )
    stopped = [  # +kind: this instance's steps, not every pending rung (see stop_pending)
        f"{name} (rung {rung})"
        for name, rung in conn.execute(
            "UPDATE steps SET status = ?, updated_at = ?, outcome = 'acknowledged before it was sent'"
            f" WHERE instance_id = ? AND +kind = 'escalation' AND status = '{StepStatus.PENDING}'"
            " AND attempts = 0 AND json_extract(params, '$.event') = 'firing'"
            " RETURNING name, json_extract(params, '$.rung')",
            (CANCELLED, now, instance.id),
        ).fetchall()
    ]
    detail = {"actor": actor, "via": via, "ladder_cancelled": stopped}
    _event(conn, instance.id, "acknowledged", detail, now)
    tx = SqliteTransaction(conn)
    tx.add_steps(instance, plan(instance, tx.notified_channels(instance), stopped), now, f"ack/{instance.fingerprint}")
    return AckOutcome(1, [instance.starts_at], None, stopped)


def _acknowledgement(conn: sqlite3.Connection, instance_id: int) -> Acknowledgement | None:
    row = conn.execute("SELECT actor, via, at FROM acknowledgements WHERE instance_id = ?", (instance_id,)).fetchone()
    return Acknowledgement(row[0], row[1], row[2]) if row else None


def _event(conn: sqlite3.Connection, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None:
    conn.execute(
        "INSERT INTO events (instance_id, notification_id, at, kind, detail) VALUES (?, NULL, ?, ?, ?)",
        (instance_id, now, kind, dumps(detail)),
    )


def _record_receipt(conn: sqlite3.Connection, channel: str, event_id: str, now: float) -> int:
    """1 when the event id is new and now recorded, 0 when it was recorded before."""
    return conn.execute(
        "INSERT INTO webhook_events (channel, event_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (channel, event_id, now),
    ).rowcount
