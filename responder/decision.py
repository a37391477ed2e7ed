"""Decide what to do about one alert instance: a pure function of the alert, the policy and
the guard state, so that every rule here is tested without a clock, a database or a cluster.

Alert content is untrusted (labels come from metric data): targets come from the rule's
reviewed annotations, and from labels only where the policy explicitly allows it for that
action. Every guard that stops a remediation produces a Refusal, and any refusal sends the
whole escalation ladder at once, so a human hears about it immediately (DESIGN invariant 4).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from responder.alerts import Alert
from responder.planner import PlannedStep, hook_step, ladder_steps, remediation_steps, resolved_steps, unfreeze_steps
from responder.policy import ActionPolicy, Policy
from responder.targets import Target
from responder.vocabulary import ACTIONS, MUTATING, Action, Guard, MessageEvent

NOTIFY_ONLY = Action.NOTIFY_ONLY
# What a resolve leaves for people to do, by action.
_LEFT_AFTER_RESOLVE: dict[str, str] = {
    Action.EMERGENCY_STOP: "nothing is restored automatically; run `responder restore` when safe",
    Action.FREEZE_DEPLOYMENTS: "deployments stay frozen; it is now safe to run `responder unfreeze`",
}
# What a resolve says when the instance's action held nothing: it was refused, failed or only
# planned (plan and server modes change nothing), so there is nothing for a human to undo.
_HELD_NOTHING = "{action} changed nothing for this alert (refused, failed or not live); there is nothing to {undo}"


@dataclass(frozen=True)
class Refusal:
    guard: Guard
    reason: str
    target: str | None = None


@dataclass(frozen=True)
class Decision:
    action: str
    steps: tuple[PlannedStep, ...]
    refusals: tuple[Refusal, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "steps": [f"{s.kind}:{s.name}+{s.delay_seconds:g}s" for s in self.steps],
            "refusals": [r.__dict__ for r in self.refusals],
        }


@dataclass(frozen=True)
class GuardState:
    """What the guards need to know about the recent past, read from the journal.

    `mutations_in_window` counts deployments changed in the breaker's window (a selector that
    stopped five counts five), and each mutating step planned but not yet run as one.
    `last_mutation_at` is by target key: for a key naming one deployment, the last time it was
    changed, whether a step named it or a selector matched it."""

    mutations_in_window: int = 0
    last_mutation_at: Mapping[str, float] = field(default_factory=dict)


def targets_of(alert: Alert, policy: Policy) -> list[Target]:
    """The targets the guards will look at for this alert (none for an unknown action)."""
    if alert.action not in ACTIONS:
        return []
    target = Target.from_annotations(alert.annotations)
    if target is None and policy.actions[alert.action].label_targets:
        labels = {
            "target_namespace": alert.labels.get("namespace", ""),
            "target_deployment": alert.labels.get("deployment", ""),
        }
        target = Target.from_annotations(labels)
    return [target] if target else []


def namespace_refusal(target: Target, name: str, action: ActionPolicy, policy: Policy) -> Refusal | None:
    """The protected-namespace and allow-list guards: also what a human undo must pass."""
    if target.namespace in policy.protected_namespaces:
        return Refusal(Guard.PROTECTED_NAMESPACE, f"{target.namespace} is a protected namespace", target.key)
    if not any(fnmatchcase(target.namespace, p) for p in action.allowed_namespaces):
        return Refusal(
            Guard.ALLOW_LIST,
            f"{target.namespace} is not in {name}'s allowed_namespaces; add it to the policy to allow it",
            target.key,
        )
    return None


def _guard(
    target: Target, name: str, action: ActionPolicy, policy: Policy, guards: GuardState, now: float
) -> Refusal | None:
    if refusal := namespace_refusal(target, name, action, policy):
        return refusal
    return cooldown_refusal(target.key, name, action, guards, now)


def cooldown_refusal(key: str, name: str, action: ActionPolicy, guards: GuardState, now: float) -> Refusal | None:
    """The cooldown: a mutating action refused on a target key changed less than its cooldown
    ago. Also what execution applies to each deployment a selector matches."""
    last = guards.last_mutation_at.get(key)
    if name in MUTATING and last is not None and now - last < action.cooldown_seconds:
        return Refusal(
            Guard.COOLDOWN, f"{key} was changed {now - last:.0f}s ago; cooldown is {action.cooldown_seconds:g}s", key
        )
    return None


def breaker_refusal(key: str, guards: GuardState, policy: Policy, changed: int) -> Refusal | None:
    """The circuit breaker for one more deployment of a step that has changed `changed` so far:
    what execution applies to each deployment a selector matches, as planning did to the step.
    The window's count holds the running step itself as at least one change."""
    after = guards.mutations_in_window + (1 if changed else 0)
    if after <= policy.breaker_max_mutations:
        return None
    return Refusal(
        Guard.CIRCUIT_BREAKER,
        f"{guards.mutations_in_window} deployment change(s) in the last {policy.breaker_window_seconds:g}s leave "
        f"no room for {key} under max_mutations {policy.breaker_max_mutations}; the circuit breaker is open",
        key,
    )


def decide_firing(alert: Alert, targets: Sequence[Target], policy: Policy, guards: GuardState, now: float) -> Decision:
    """The plan for an instance seen firing for the first time; `targets` are `targets_of(alert)`,
    worked out by the caller, which also reads the guard state for them."""
    name = alert.action
    if name not in ACTIONS:
        rungs = policy.ladder_for(alert.severity, NOTIFY_ONLY)
        return Decision(NOTIFY_ONLY, tuple(ladder_steps(rungs, MessageEvent.FIRING, at_once=False)))
    action = policy.actions[name]
    refusals: list[Refusal] = []
    accepted: list[Target] = []
    if action.mode == "disabled":
        refusals.append(Refusal(Guard.DISABLED, f"{name} is disabled in the policy"))
    elif not targets and name in MUTATING:
        refusals.append(Refusal(Guard.NO_TARGET, "the rule names no target_namespace with a deployment or selector"))
    elif len(targets) > action.max_targets:
        refusals.append(Refusal(Guard.MAX_TARGETS, f"{len(targets)} targets exceed max_targets {action.max_targets}"))
    else:
        for target in targets:
            refusal = _guard(target, name, action, policy, guards, now)
            if refusal is None:
                accepted.append(target)
            else:
                refusals.append(refusal)
    if name in MUTATING and accepted:
        room = policy.breaker_max_mutations - guards.mutations_in_window
        if room < len(accepted):
            refusals += [
                Refusal(
                    Guard.CIRCUIT_BREAKER,
                    f"{guards.mutations_in_window} deployment change(s), made or planned, in the last "
                    f"{policy.breaker_window_seconds:g}s leave no room under max_mutations "
                    f"{policy.breaker_max_mutations}; the circuit breaker is open",
                    t.key,
                )
                for t in accepted[max(room, 0) :]
            ]
            accepted = accepted[: max(room, 0)]
    steps = remediation_steps(name, accepted, action.mode)
    if name == Action.EMERGENCY_STOP and accepted and action.hook is not None:
        steps.append(hook_step(accepted, action.mode))
    reason = "; ".join(f"{name} refused ({r.guard}): {r.reason}" for r in refusals) or None
    rungs = policy.ladder_for(alert.severity, name)
    steps += ladder_steps(rungs, MessageEvent.FIRING, at_once=bool(refusals), reason=reason)
    return Decision(name, tuple(steps), tuple(refusals))


def decide_resolved(
    action: str,
    policy: Policy,
    notified: frozenset[str],
    frozen: Sequence[Target],
    cancelled_remediations: int,
    freezing: bool = False,
    stopped: bool = False,
) -> Decision:
    """The plan when a firing instance of `action` resolves: tell whoever was told, undo only
    what policy says, and only what this instance did (`frozen`: the targets its freeze actually
    froze). `freezing`: its freeze is still running, so what it freezes is not known yet; the
    freeze's own outcome lifts it where the policy says so, and people are told which.
    `stopped`: its stop holds a deployment at zero, or is still running and may; without it
    nobody is told to restore what was never stopped."""
    name = action if action in ACTIONS else NOTIFY_ONLY
    steps: list[PlannedStep] = []
    follow_up = _LEFT_AFTER_RESOLVE.get(name)
    freeze = name == Action.FREEZE_DEPLOYMENTS
    if (name == Action.EMERGENCY_STOP and not stopped) or (freeze and not (frozen or freezing)):
        follow_up = _HELD_NOTHING.format(action=name, undo="restore" if name == Action.EMERGENCY_STOP else "unfreeze")
    if freeze and policy.actions[name].unfreeze_on_resolve and (frozen or freezing):
        follow_up = "deployments are being unfrozen, as the policy says"
        if freezing:
            follow_up += "; the freeze still running is lifted once it finishes"
        steps += unfreeze_steps(frozen, policy)
    elif freeze and freezing:
        follow_up = (
            "the freeze is still running and what it freezes stays frozen; "
            "run `responder unfreeze` once it has finished"
        )
    if cancelled_remediations:
        note = f"{cancelled_remediations} remediation step(s) had not run yet and were cancelled"
        follow_up = f"{note}; {follow_up}" if follow_up else note
    steps += resolved_steps(sorted(notified), follow_up)
    return Decision(name, tuple(steps))
