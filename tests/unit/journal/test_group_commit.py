"""The queue both writers share (group_commit.Batches), through a writer of its own that runs
each operation with no connection."""

import asyncio

import pytest

from responder.journal.group_commit import Batches, Op, abandon, settle


class Broken(Exception):
    """The writer itself failed, not one operation."""


class Writer(Batches[None]):
    async def _execute(self, batch: list[Op]) -> None:
        await asyncio.sleep(0)
        try:
            settle([(op, op.fn(None), None) for op in batch])
        except Broken as exc:
            abandon(batch, exc)
            raise


def breaks(_: None) -> str:
    raise Broken("the writer's connection is gone")


async def test_what_waits_for_a_failed_writer_is_abandoned_and_may_be_submitted_again() -> None:
    """A caller told its operation was abandoned may submit it again at once: a new writer runs it."""
    writer = Writer()
    told: list[BaseException | None] = []
    again: list[asyncio.Future[str]] = []

    def submit_again(_: object, error: BaseException | None) -> None:
        told.append(error)
        again.append(writer.submit(lambda _: "ran", durable=False))

    first = writer.submit(breaks, durable=False)
    await asyncio.sleep(0)  # the first batch is under way
    queued = writer.submit(lambda _: "never", durable=False, then=submit_again)
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert first.cancelled() and [type(error) for error in told] == [Broken]
    assert await asyncio.wait_for(again[0], 1) == "ran"
