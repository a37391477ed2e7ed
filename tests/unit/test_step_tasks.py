"""StepTasks: once stopping, claimed steps are set aside and handed back, never started."""

import asyncio
import logging

import pytest

from responder.journal import Instance, Step
from responder.step_tasks import StepTasks

INSTANCE = Instance(
    1, "fp1", "2026-11-23T13:00:00.000000Z", "firing", "X", "critical", "EMERGENCY_STOP", "{}", "{}", 0.0
)
STEPS = [Step(i, INSTANCE, "remediation", "EMERGENCY_STOP", {}, 1, "c1") for i in (1, 2)]
LONG = 60.0  # a grace no test may wait out: each is bounded well below it


async def never_run(step: Step) -> None:
    raise AssertionError(f"step {step.id} started while stopping")


async def nothing_to_release(steps: list[Step]) -> int:
    raise AssertionError("nothing was set aside")


class Released:
    """A release that keeps what it was handed."""

    def __init__(self) -> None:
        self.handed: list[list[Step]] = []

    async def __call__(self, steps: list[Step]) -> int:
        self.handed.append(steps)
        return len(steps)


async def stop_with_an_accept_in_flight(tasks: StepTasks, release: Released) -> "asyncio.Task[None]":
    tasks.accepting()
    stopping = asyncio.create_task(tasks.stop([], LONG, release))
    await asyncio.sleep(0)
    return stopping


async def test_an_accept_settling_during_the_stop_has_its_steps_handed_back() -> None:
    tasks, release = StepTasks(), Released()
    stopping = await stop_with_an_accept_in_flight(tasks, release)
    assert tasks.start(STEPS, never_run) is False
    assert release.handed == [], "nothing is handed back while an accept may still lease"
    tasks.accepted()
    async with asyncio.timeout(5):
        await stopping
    assert release.handed == [STEPS]


async def test_an_accept_refused_at_once_while_another_is_in_flight_does_not_end_the_wait() -> None:
    """The refusal counts down to zero and up again in one turn of the loop: the stop must
    still wait for the accept in flight, and hand back what it leases."""
    tasks, release = StepTasks(), Released()
    stopping = await stop_with_an_accept_in_flight(tasks, release)
    tasks.accepted()
    tasks.accepting()
    await asyncio.sleep(0.01)
    assert not stopping.done()
    tasks.start(STEPS, never_run)
    tasks.accepted()
    async with asyncio.timeout(5):
        await stopping
    assert release.handed == [STEPS]


async def test_an_accept_refused_at_once_does_not_hold_up_the_stop() -> None:
    """A journal that refuses at once tells the accept's `then` before `accepting` is counted."""
    tasks = StepTasks()
    tasks.accepted()
    tasks.accepting()
    async with asyncio.timeout(5):
        await tasks.stop([], LONG, nothing_to_release)


async def test_a_hand_back_that_fails_is_said_and_the_stop_still_ends(caplog: pytest.LogCaptureFixture) -> None:
    tasks = StepTasks()
    tasks.stopping = True
    tasks.start(STEPS, never_run)

    async def release(steps: list[Step]) -> int:
        raise OSError("the database is unreachable")

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(5):
            await tasks.stop([], LONG, release)
    [record] = caplog.records
    assert "they run once their leases run out" in record.getMessage()
    assert record.__dict__["steps"] == 2 and "unreachable" in record.__dict__["error"]


async def test_steps_started_before_the_stop_run_and_are_waited_for() -> None:
    tasks = StepTasks()
    ran: list[int] = []

    async def run(step: Step) -> None:
        await asyncio.sleep(0.01)
        ran.append(step.id)

    assert tasks.start(STEPS, run) is True
    async with asyncio.timeout(5):
        await tasks.stop([], LONG, nothing_to_release)
    assert sorted(ran) == [1, 2]


async def test_a_loop_that_does_not_end_its_round_is_cancelled() -> None:
    tasks = StepTasks()
    hung = asyncio.create_task(asyncio.sleep(LONG))
    async with asyncio.timeout(LONG / 2):
        await tasks.stop([hung], 0.05, nothing_to_release)
    assert hung.cancelled()
