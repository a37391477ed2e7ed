"""What the circuit breaker and the cooldowns read from the journal, through the protocol only:
every deployment a step changed counts, however the step named it."""

from dataclasses import replace
from typing import Any

from responder.decision import GuardState
from responder.journal import Journal, StepResult
from responder.planner import PlannedStep
from responder.vocabulary import StepKind
from tests.unit.journal.plans import KEY, NOW, STOP, claim, plan

MUTATING = ["EMERGENCY_STOP", "FREEZE_DEPLOYMENTS"]
SELECTOR = PlannedStep(
    StepKind.REMEDIATION,
    "EMERGENCY_STOP",
    0.0,
    {"target": {"namespace": "n", "selector": "tier=web"}},
    "remediation:EMERGENCY_STOP:n/tier=web",
    "n/tier=web",
)


def changed(*deployments: str, unchanged: tuple[str, ...] = ()) -> dict[str, Any]:
    """An outcome's detail as the cluster remediator writes it, one entry per deployment."""
    targets = [{"deployment": d, "changed": True} for d in deployments]
    return {"targets": targets + [{"deployment": d, "changed": False, "note": "already"} for d in unchanged]}


async def guards(journal: Journal, *targets: str, now: float = NOW + 60) -> GuardState:
    return await journal.transact(lambda tx: tx.guard_state(MUTATING, targets, 600, now, 20))


async def run_selector(journal: Journal, result: StepResult, retry_at: float | None = None) -> None:
    await plan(journal, SELECTOR)
    [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    await journal.finish_step(step, result, NOW, NOW + 5, retry_at)


async def test_a_step_counts_each_deployment_it_changed_and_one_before_it_runs(journal: Journal) -> None:
    await plan(journal, SELECTOR)
    assert (await guards(journal)).mutations_in_window == 1
    [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    result = StepResult("succeeded", changed("n/a", "n/b", "n/c", unchanged=("n/d",)))
    await journal.finish_step(step, result, NOW, NOW + 5, None)
    assert (await guards(journal)).mutations_in_window == 3


async def test_a_retry_adds_only_what_it_changed_itself(journal: Journal) -> None:
    await run_selector(journal, StepResult("retry", changed("n/a")), retry_at=NOW + 30)
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 30, 60)
    await journal.finish_step(again, StepResult("succeeded", changed("n/b")), NOW + 30, NOW + 35, None)
    assert (await guards(journal)).mutations_in_window == 2


async def test_a_deployment_changed_through_a_selector_has_its_own_last_change(journal: Journal) -> None:
    await run_selector(journal, StepResult("succeeded", changed("n/a")))
    state = await guards(journal, "n/a", "n/b", "n/tier=web")
    assert state.last_mutation_at == {"n/a": NOW + 5, "n/tier=web": NOW}


async def test_a_step_named_directly_still_counts_for_its_target(journal: Journal) -> None:
    await plan(journal, replace(STOP, target_key="n/d"))
    assert (await guards(journal, "n/d")).last_mutation_at == {"n/d": NOW}


async def test_outside_the_window_nothing_counts(journal: Journal) -> None:
    await run_selector(journal, StepResult("succeeded", changed("n/a", "n/b")))
    assert (await guards(journal, now=NOW + 601)).mutations_in_window == 0


async def test_pruning_forgets_a_step_with_the_deployments_it_changed(journal: Journal) -> None:
    await run_selector(journal, StepResult("succeeded", changed("n/a", "n/b")))
    await journal.transact(lambda tx: tx.set_status(tx.instances([KEY])[KEY], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    assert await guards(journal, "n/a") == GuardState()
