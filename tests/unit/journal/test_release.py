"""Handing back steps claimed and never started (`Transaction.release`, a stopping engine's),
through the protocol only: every backend runs these."""

from responder.journal import Journal, Step, StepResult, Transaction
from responder.vocabulary import StepKind
from tests.unit.journal.plans import ALERT, KEY, NOW, STOP, claim, due, plan


async def release(journal: Journal, *steps: Step) -> int:
    return await journal.transact(lambda tx: tx.release(steps))


async def test_a_step_handed_back_is_claimed_again_at_once_with_its_attempt_not_counted(journal: Journal) -> None:
    await plan(journal, STOP)
    [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 600)
    assert await release(journal, step) == 1
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 1, 600)  # not after its lease
    assert (again.id, again.attempts, again.interrupted) == (step.id, 1, False)


async def test_a_step_leased_as_it_was_added_is_handed_back_too(journal: Journal) -> None:
    def add_leasing(tx: Transaction) -> list[Step]:
        tx.lease_new({"remediation": 1, "escalation": 0}, NOW, 600)
        instance = tx.insert_instance(ALERT, NOW)
        tx.add_steps(instance, [STOP], NOW, "c1")
        return tx.leased("remediation")

    [leased] = await journal.transact(add_leasing)
    assert await release(journal, leased) == 1
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 600)
    assert (again.id, again.attempts) == (leased.id, 1)


async def test_a_step_claimed_again_since_its_lease_ran_out_is_left_to_that_claim(journal: Journal) -> None:
    await plan(journal, STOP)
    [first] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    [second] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 61, 60)
    assert await release(journal, first) == 0, "the second claim's runner may be running it"
    assert await claim(journal, StepKind.REMEDIATION, 1, NOW + 62, 60) == []
    assert await release(journal, second) == 1
    [third] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 62, 60)
    assert (third.attempts, third.interrupted) == (2, True), "the first attempt was cut short: it may have acted"


async def test_a_finished_step_and_a_step_handed_back_already_are_left_as_they_are(journal: Journal) -> None:
    await plan(journal, *due(StepKind.ESCALATION, 2))
    done, waiting = await claim(journal, StepKind.ESCALATION, 2, NOW, 600)
    await journal.finish_step(done, StepResult("succeeded", {}), NOW, NOW + 1, None)
    assert await release(journal, waiting) == 1
    assert await release(journal, done, waiting) == 0
    [instance] = await journal.timeline(KEY[0])
    assert sorted(s["status"] for s in instance["steps"]) == ["pending", "succeeded"]
