"""The EscalationStore over the PostgreSQL journal: each method runs in the journal's writer.

Across replicas: an acknowledgement locks its instance's row (FOR UPDATE) before it looks for an
earlier one, so two replicas acknowledging at once acknowledge once; a webhook event id and a
delivery mark are primary keys, so a second replica recording the same one meets the key, runs
again and finds it (see postgres_writer).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from responder.journal import Instance
from responder.journal.escalation import (
    Acknowledgement,
    AckOutcome,
    AckPlanner,
    Callback,
    CallbackOutcome,
    DeliveryMark,
)
from responder.journal.postgres_batch import BatchState
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_tx import PostgresTransaction
from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import INSTANCE_COLUMNS, dumps, instance_from_row
from responder.vocabulary import StepStatus

Runner = Callable[..., Awaitable[Any]]
_PENDING, _RUNNING, _CANCELLED = StepStatus.PENDING.value, StepStatus.RUNNING.value, StepStatus.CANCELLED.value


class LeaseLostError(RuntimeError):
    """A step's side effect was about to start in a replica that no longer holds its lease."""


class PostgresEscalationStore:
    def __init__(self, run: Runner, replica: Replica, batch: Callable[[], BatchState]) -> None:
        self._run = run  # PostgresJournal.run: a function of the connection, in the writer's next batch
        self._replica = replica
        self._batch = batch  # what the writer's transaction in progress knows (see BatchState)

    async def channel_state(self, instance_id: int, channel: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT state FROM channel_state WHERE instance_id = %s AND channel = %s", (instance_id, channel)
            ).fetchone()
        )
        return dict(row[0]) if row else None

    async def save_channel_state(self, instance_id: int, channel: str, ref: str, state: dict[str, Any]) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO channel_state (instance_id, channel, ref, state) VALUES (%s, %s, %s, %s::jsonb)"
                " ON CONFLICT (instance_id, channel) DO UPDATE SET ref = excluded.ref, state = excluded.state",
                (instance_id, channel, ref, dumps(state)),
            )
        )

    async def acknowledge(
        self, fingerprint: str, actor: str, via: str, now: float, plan: AckPlanner, starts_at: str | None = None
    ) -> AckOutcome:
        def ack(conn: Connection) -> AckOutcome:
            rows = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE fingerprint = %s AND status = 'firing'"
                " AND starts_at = coalesce(%s, starts_at) ORDER BY id FOR UPDATE",
                (fingerprint, starts_at),
            ).fetchall()
            acknowledged, cancelled, already = [], [], None
            for row in rows:
                one = self._acknowledge(conn, instance_from_row(row), actor, via, now, plan)
                acknowledged += one.acknowledged
                cancelled += one.cancelled
                already = one.already or already
            return AckOutcome(len(rows), acknowledged, already, cancelled)

        outcome: AckOutcome = await self._run(ack)
        return outcome

    async def first_receipt(self, channel: str, event_id: str, now: float) -> bool:
        first: bool = await self._run(lambda conn: _record_receipt(conn, channel, event_id, now), durable=True)
        return first

    async def acknowledge_reference(
        self, channel: str, ref: str, event_id: str, actor: str, now: float, plan: AckPlanner
    ) -> CallbackOutcome:
        def ack(conn: Connection) -> CallbackOutcome:
            if not _record_receipt(conn, channel, event_id, now):
                return CallbackOutcome(Callback.REPLAY)
            row = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = (SELECT instance_id FROM channel_state"
                " WHERE channel = %s AND ref = %s ORDER BY instance_id DESC LIMIT 1) FOR UPDATE",
                (channel, ref),
            ).fetchone()
            if row is None:
                return CallbackOutcome(Callback.UNKNOWN)
            instance = instance_from_row(row)
            if instance.status != "firing":
                return CallbackOutcome(Callback.RESOLVED, instance)
            return CallbackOutcome(
                Callback.ACTED, instance, self._acknowledge(conn, instance, actor, channel, now, plan)
            )

        outcome: CallbackOutcome = await self._run(ack)
        return outcome

    async def acknowledgement(self, instance_id: int) -> Acknowledgement | None:
        found: Acknowledgement | None = await self._run(lambda conn: _acknowledgement(conn, instance_id))
        return found

    async def stopped_rungs(self, instance_id: int) -> list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT name, params ->> 'rung' FROM steps WHERE instance_id = %s AND kind = 'escalation'"
                f" AND status = '{_CANCELLED}' AND outcome = 'ladder stopped' AND params ->> 'event' = 'firing'"
                " ORDER BY id",
                (instance_id,),
            ).fetchall()
        )
        return [f"{name} (rung {rung})" for name, rung in rows]

    async def begin_delivery(self, step_id: int, recipient: str, now: float) -> DeliveryMark | None:
        """The earlier mark for (step, recipient), or None after writing one, durably, now.

        Only while this replica holds the step's lease (else LeaseLostError), checked with the
        step's row locked, in a transaction that commits with a flush whether or not it writes a
        mark: the flush makes the claim that leased the step durable too. A claim commits
        without waiting for the flush, so a crash of the server may lose it; the replica that
        made it runs the step on, while the database, recovered, shows the step free and another
        replica claims it. Both would then send: one finding no mark, or both finding the same
        mark without the provider's id and looking for a text that neither has sent yet."""

        def mark(conn: Connection) -> DeliveryMark | None:
            held = conn.execute(
                f"SELECT status = '{_RUNNING}' AND lease_holder = %s AND lease_until >= %s, pg_current_xact_id()"
                " FROM steps WHERE id = %s FOR UPDATE",
                (self._replica.name, now, step_id),
            ).fetchone()
            if not held or not held[0]:
                raise LeaseLostError(
                    f"step {step_id} is no longer leased by replica {self._replica.name!r} (its lease ran out, or a"
                    " crash of the database lost the claim): nothing is sent for it from here; the replica that"
                    " claims it next sends, after checking the step's delivery mark"
                )
            row = conn.execute(
                "SELECT marked_at, provider_id FROM deliveries WHERE step_id = %s AND recipient = %s",
                (step_id, recipient),
            ).fetchone()
            if row:
                return DeliveryMark(row[0], row[1])
            conn.execute(
                "INSERT INTO deliveries (step_id, recipient, marked_at) VALUES (%s, %s, %s)", (step_id, recipient, now)
            )
            return None

        found: DeliveryMark | None = await self._run(mark, durable=True)
        return found

    async def confirm_delivery(self, step_id: int, recipient: str, provider_id: str) -> None:
        """Durably, as the mark: committed without waiting for the flush, a crash of the server
        (which, unlike SQLite's file, can fail while the process lives on) would lose the
        provider's id, and the step's retry would have only a lookup at the provider to go by."""
        await self._run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET provider_id = %s WHERE step_id = %s AND recipient = %s",
                (provider_id, step_id, recipient),
            ),
            durable=True,
        )

    async def acted_targets(
        self, fingerprint: str, action: str, starts_at: str | None = None
    ) -> tuple[Instance, list[dict[str, str]]] | None:
        def read(conn: Connection) -> tuple[Instance, list[dict[str, str]]] | None:
            row = conn.execute(
                f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE fingerprint = %s"
                " AND starts_at = coalesce(%s, starts_at) ORDER BY starts_at DESC, id DESC LIMIT 1",
                (fingerprint, starts_at),
            ).fetchone()
            if row is None:
                return None
            instance = instance_from_row(row)
            return instance, PostgresTransaction(conn, self._replica, self._batch()).acted_targets(instance, action)

        found: tuple[Instance, list[dict[str, str]]] | None = await self._run(read)
        return found

    async def record_event(self, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None:
        await self._run(lambda conn: _event(conn, instance_id, kind, detail, now))

    def _acknowledge(
        self, conn: Connection, instance: Instance, actor: str, via: str, now: float, plan: AckPlanner
    ) -> AckOutcome:
        """Acknowledge one firing instance (its row locked) unless it was before: record who,
        cancel the firing ladder's rungs not yet sent, and plan the announcement."""
        before = _acknowledgement(conn, instance.id)
        if before is not None:
            return AckOutcome(1, already=before)
        conn.execute(
            "INSERT INTO acknowledgements (instance_id, at, actor, via) VALUES (%s, %s, %s, %s)",
            (instance.id, now, actor, via),
        )
        stopped = [
            f"{name} (rung {rung})"
            for name, rung in conn.execute(
                "UPDATE steps SET status = %s, updated_at = %s, outcome = 'acknowledged before it was sent'"
                f" WHERE instance_id = %s AND kind = 'escalation' AND status = '{_PENDING}'"
                " AND attempts = 0 AND params ->> 'event' = 'firing' RETURNING name, params ->> 'rung'",
                (_CANCELLED, now, instance.id),
            ).fetchall()
        ]
        _event(conn, instance.id, "acknowledged", {"actor": actor, "via": via, "ladder_cancelled": stopped}, now)
        tx = PostgresTransaction(conn, self._replica, self._batch())
        planned = plan(instance, tx.notified_channels(instance), stopped)
        tx.add_unread(instance, planned, now, f"ack/{instance.fingerprint}")
        return AckOutcome(1, [instance.starts_at], None, stopped)


def _acknowledgement(conn: Connection, instance_id: int) -> Acknowledgement | None:
    row = conn.execute("SELECT actor, via, at FROM acknowledgements WHERE instance_id = %s", (instance_id,)).fetchone()
    return Acknowledgement(row[0], row[1], row[2]) if row else None


def _event(conn: Connection, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None:
    conn.execute(
        "INSERT INTO events (instance_id, notification_id, at, kind, detail) VALUES (%s, NULL, %s, %s, %s::jsonb)",
        (instance_id, now, kind, dumps(detail)),
    )


def _record_receipt(conn: Connection, channel: str, event_id: str, now: float) -> bool:
    """True when the event id is new and now recorded, False when it was recorded before."""
    return bool(
        conn.execute(
            "INSERT INTO webhook_events (channel, event_id, received_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
            " RETURNING 1",
            (channel, event_id, now),
        ).fetchall()
    )
