"""The cluster remediator: every remediation step, and every human undo, in its policy's mode.

`plan` records what would be done; `server` sends the same writes with `dryRun=All`, so that
admission and RBAC are exercised without a change; `live` changes the cluster. A selector
is resolved to concrete deployments before anything is done, the resolved list is recorded,
and a selector that matches more than the action's `max_targets` is refused, not obeyed, as is
each deployment it matches that is still in its cooldown (a target naming one deployment had
its cooldown applied when the step was planned; what a selector matches is known only here).

Each deployment is handled on its own: one that fails does not stop the others (an
emergency stop should stop what it can). What a step did to each deployment (the hold it put
on, the change the guards count) is journaled as soon as it is done, not when the step ends: a
step cut short by a timeout or a restart after changing some deployments still shows them held.
A transient failure anywhere retries the step, which is safe because every action finds a
deployment already in its desired state and leaves it alone.
"""

import time
from collections.abc import Callable
from typing import Any

from responder.decision import Refusal, breaker_refusal, cooldown_refusal, namespace_refusal
from responder.journal import Effect, Journal, Operation, Step, StepResult
from responder.policy import ActionPolicy, Policy
from responder.remediation import OperatorResult
from responder.remediation.freeze import freeze, unfreeze
from responder.remediation.hook import call_hook
from responder.remediation.investigate import investigate
from responder.remediation.kube import Kube, KubeError
from responder.remediation.objects import Cause, Ref
from responder.remediation.plan import PlanRemediator
from responder.remediation.stop import restore, stop
from responder.targets import Target
from responder.vocabulary import MUTATING, Guard

OWNER = {"UNFREEZE": "FREEZE_DEPLOYMENTS", "RESTORE": "EMERGENCY_STOP", "EMERGENCY_HOOK": "EMERGENCY_STOP"}


class Refused(Exception):
    """A guard only execution can apply (what a selector matches) said no."""

    def __init__(self, guard: str, reason: str) -> None:
        super().__init__(reason)
        self.guard = guard
        self.reason = reason


class ClusterRemediator:
    def __init__(
        self, policy: Policy, journal: Journal, kube: Kube | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._policy = policy
        self._journal = journal
        self._kube = kube
        self._clock = clock
        self._plan = PlanRemediator(journal)

    def close(self) -> None:
        """Release the client's connection pool at shutdown."""
        if self._kube is not None:
            self._kube.close()

    def _action(self, name: str) -> ActionPolicy:
        return self._policy.actions[OWNER.get(name, name)]

    async def _resolve(self, kube: Kube, target: Target, action: ActionPolicy) -> list[Ref]:
        if target.deployment:
            return [Ref(target.namespace, target.deployment)]
        items = await kube.list_deployments(target.namespace, target.selector or "")
        refs = [Ref(target.namespace, d["metadata"]["name"]) for d in items]
        if not refs:
            raise Refused("no_target", f"selector {target.selector!r} matches no deployment in {target.namespace}")
        if len(refs) > action.max_targets:
            raise Refused(
                "max_targets",
                f"selector {target.selector!r} matches {len(refs)} deployments in {target.namespace}, more than "
                f"max_targets {action.max_targets}; refused rather than obeyed. Narrow the selector or raise "
                "max_targets",
            )
        return refs

    # --- alert-driven steps -------------------------------------------------------------------

    async def remediate(self, step: Step) -> StepResult:
        mode = step.params["mode"]
        if mode == "plan" or self._kube is None:
            return await self._plan.remediate(step)
        dry_run = mode == "server"
        if step.name == "EMERGENCY_HOOK":
            hook = self._action(step.name).hook
            if hook is None:
                return StepResult("failed", {"error": "the policy no longer has an emergency hook; nothing called"})
            return await call_hook(hook, step, dry_run)
        kube, target = self._kube, Target(**step.params["target"])
        try:
            refs = await self._resolve(kube, target, self._action(step.name))
        except Refused as exc:
            return StepResult("failed", {"mode": mode, "refused": {"guard": exc.guard, "reason": exc.reason}})
        except KubeError as exc:
            return _error_result(mode, exc)
        earlier = set(step.params.get("done", []))
        cooling = await self._cooling(step, target, [str(r) for r in refs if str(r) not in earlier])
        cause = Cause.of(step, self._clock())
        outcomes: list[dict[str, Any]] = []
        effects: list[Effect] = []
        errors: list[KubeError] = []
        refused: list[Refusal] = []
        changed = len(earlier)
        for ref in refs:
            if str(ref) in earlier:
                outcomes.append({"deployment": str(ref), "changed": False, "note": "done in an earlier attempt"})
                continue
            refusal = cooling.get(str(ref)) or await self._breaker(step, target, str(ref), changed)
            if refusal is not None:
                refused.append(refusal)
                outcomes.append({"deployment": str(ref), "changed": False, "refused": refusal.reason})
                continue
            try:
                if step.name == "EMERGENCY_STOP":
                    outcome, done = await stop(kube, ref, cause, dry_run)
                elif step.name == "FREEZE_DEPLOYMENTS":
                    outcome, done = await freeze(kube, ref, cause, dry_run)
                elif step.name == "UNFREEZE":
                    outcome, done = await unfreeze(kube, ref, cause.holder, dry_run)
                else:
                    action = self._action(step.name)
                    outcome, done = await investigate(kube, ref, action.log_lines, action.evidence_bytes), []
            except KubeError as exc:
                errors.append(exc)
                outcome, done = {"deployment": str(ref), "error": exc.message}, []
            if done or outcome.get("changed"):  # recorded now: the step may yet be cut short
                changes = [str(ref)] if outcome.get("changed") else []
                changed += len(changes)
                await self._journal.record_effects(step, done, changes, self._clock())
            outcomes.append(outcome)
            effects += done
        detail: dict[str, Any] = {"mode": mode, "resolved": [str(r) for r in refs], "targets": outcomes}
        if refused:  # the breaker's name first: it is the graver of the two
            guard = min((r.guard for r in refused), key=lambda g: g != Guard.CIRCUIT_BREAKER)
            detail["refused"] = {"guard": guard, "reason": "; ".join(r.reason for r in refused)}
        if step.name == "INVESTIGATE":  # the findings are the outcome; stored once, errors beside them
            detail["findings"] = [o for o in outcomes if "error" not in o]
            detail["targets"] = [o for o in outcomes if "error" in o]
        finished = tuple(o["deployment"] for o in outcomes if "error" not in o and "refused" not in o)
        return _combine(detail, errors, tuple(effects), finished)

    async def _breaker(self, step: Step, target: Target, key: str, changed: int) -> Refusal | None:
        """The circuit breaker, before a selector's next deployment is changed: planning counted
        the step once, and what it matches is known only now. Read afresh each time, so that
        other steps' changes (another replica's too) count."""
        if target.deployment or step.name not in MUTATING:
            return None
        mutating, now = sorted(MUTATING), self._clock()
        window, cap = self._policy.breaker_window_seconds, self._policy.breaker_max_mutations
        guards = await self._journal.transact(lambda tx: tx.guard_state(mutating, [], window, now, cap))
        return breaker_refusal(key, guards, self._policy, changed)

    async def _cooling(self, step: Step, target: Target, keys: list[str]) -> dict[str, Refusal]:
        """Of the deployments a selector matched (`keys`, those it has not done yet), the ones
        still in their cooldown, by key: changed lately by a step that named them, or through
        another selector."""
        action = self._action(step.name)
        if target.deployment or step.name not in MUTATING or not action.cooldown_seconds or not keys:
            return {}
        mutating, now = sorted(MUTATING), self._clock()
        window, cap = self._policy.breaker_window_seconds, self._policy.breaker_max_mutations
        guards = await self._journal.transact(lambda tx: tx.guard_state(mutating, keys, window, now, cap))
        refusals = (cooldown_refusal(key, step.name, action, guards, now) for key in keys)
        return {r.target: r for r in refusals if r is not None and r.target is not None}

    # --- human undo ---------------------------------------------------------------------------

    async def restore(self, target: Target, actor: str) -> OperatorResult:
        return await self._operate("RESTORE", target, actor)

    async def unfreeze(self, target: Target, actor: str) -> OperatorResult:
        return await self._operate("UNFREEZE", target, actor)

    async def _operate(self, op: str, target: Target, actor: str) -> OperatorResult:
        action = self._action(op)
        effects: list[Effect] = []
        refusal = namespace_refusal(target, OWNER[op], action, self._policy)
        if action.mode == "disabled":
            result = OperatorResult(False, f"{OWNER[op]} is disabled in the policy; {op.lower()} is too")
        elif refusal is not None:
            result = OperatorResult(False, f"refused ({refusal.guard}): {refusal.reason}", {"refused": refusal.guard})
        elif action.mode == "plan" or self._kube is None:
            plan = self._plan.restore if op == "RESTORE" else self._plan.unfreeze
            result = await plan(target, actor)
        else:
            result, effects = await self._undo(self._kube, op, target, action)
        detail = {"message": result.message, "mode": action.mode, **result.detail}
        await self._journal.record_operation(
            Operation(actor, op, target.as_dict(), result.ok, detail, effects, self._clock())
        )
        return result

    async def _undo(
        self, kube: Kube, op: str, target: Target, action: ActionPolicy
    ) -> tuple[OperatorResult, list[Effect]]:
        dry_run = action.mode == "server"
        try:
            refs = await self._resolve(kube, target, action)
        except Refused as exc:
            return OperatorResult(False, exc.reason, {"refused": exc.guard}), []
        except KubeError as exc:
            return OperatorResult(False, exc.message), []
        outcomes, effects, failed = [], [], []
        for ref in refs:
            try:
                outcome, done = await (
                    restore(kube, ref, dry_run) if op == "RESTORE" else unfreeze(kube, ref, None, dry_run)
                )
            except KubeError as exc:
                outcome, done = {"deployment": str(ref), "error": exc.message}, []
                if exc.status == 404 and not dry_run:  # gone from the cluster: nothing is held any more
                    state = "stopped" if op == "RESTORE" else "frozen"
                    done = [Effect(state, ref.namespace, ref.name, False)]
            if "error" in outcome or "refused" in outcome:
                failed.append(f"{ref}: {outcome.get('error') or outcome.get('refused')}")
            outcomes.append(outcome)
            effects += done
        verb = "restored" if op == "RESTORE" else "unfrozen"
        done_refs = [o["deployment"] for o in outcomes if "error" not in o and "refused" not in o]
        message = "; ".join(
            ([f"{verb}{' (dry run)' if dry_run else ''}: {', '.join(done_refs)}"] if done_refs else []) + failed
        )
        return OperatorResult(not failed, message, {"targets": outcomes}), effects


def _error_result(mode: str, exc: KubeError) -> StepResult:
    if exc.transient:
        return StepResult("retry", {"mode": mode, "error": exc.message}, exc.retry_after)
    return StepResult("failed", _failure({"mode": mode}, [exc]))


def _combine(
    detail: dict[str, Any], errors: list[KubeError], effects: tuple[Effect, ...], done: tuple[str, ...]
) -> StepResult:
    """Retry if anything failed transiently; fail (and escalate) if anything failed for good or
    was refused."""
    transient = [e for e in errors if e.transient]
    if transient:
        hints = [e.retry_after for e in transient if e.retry_after is not None]
        return StepResult("retry", detail, max(hints) if hints else None, effects, done)
    if errors:
        return StepResult("failed", _failure(detail, errors), None, effects, done)
    if "refused" in detail:  # a guard refused part of it: failed, so that people hear why
        return StepResult("failed", detail, None, effects, done)
    return StepResult("succeeded", detail, None, effects, done)


def _failure(detail: dict[str, Any], errors: list[KubeError]) -> dict[str, Any]:
    """The detail of a failure for good: an RBAC refusal is also a guard, counted and named."""
    rbac = [e for e in errors if e.status == 403]
    refused = {"refused": {"guard": "rbac", "reason": rbac[0].message}} if rbac else {}
    return {**detail, **refused, "error": "; ".join(e.message for e in errors)}
