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
from responder.policy import ActionPolicy, Policy
from responder.targets import Target
from responder.vocabulary import ACTIONS, MUTATING

NOTIFY_ONLY = "NOTIFY_ONLY"


@dataclass(frozen=True)
class PlannedStep:
    kind: str  # "remediation" or "escalation"
    name: str  # the action, or the channel
    delay_seconds: float
    params: dict[str, Any]
    key: str  # unique per instance: the journal refuses to plan the same step twice
    target_key: str | None = None  # what the cooldown and breaker count, for remediation steps


@dataclass(frozen=True)
class Refusal:
    guard: str
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
    """What the guards need to know about the recent past, read from the journal."""

    mutations_in_window: int = 0
    last_mutation_at: Mapping[str, float] = field(default_factory=dict)


def targets_of(alert: Alert, policy: Policy) -> list[Target]:
    """The targets the guards will look at for this alert (none for an unknown action)."""
    return _targets(alert, policy.actions[alert.action]) if alert.action in ACTIONS else []


def _targets(alert: Alert, action: ActionPolicy) -> list[Target]:
    target = Target.from_annotations(alert.annotations)
    if target is None and action.label_targets:
        labels = {
            "target_namespace": alert.labels.get("namespace", ""),
            "target_deployment": alert.labels.get("deployment", ""),
        }
        target = Target.from_annotations(labels)
    return [target] if target else []


def namespace_refusal(target: Target, name: str, action: ActionPolicy, policy: Policy) -> Refusal | None:
    """The protected-namespace and allow-list guards: also what a human undo must pass."""
    if target.namespace in policy.protected_namespaces:
        return Refusal("protected_namespace", f"{target.namespace} is a protected namespace", target.key)
    if not any(fnmatchcase(target.namespace, p) for p in action.allowed_namespaces):
        return Refusal(
            "allow_list",
            f"{target.namespace} is not in {name}'s allowed_namespaces; add it to the policy to allow it",
            target.key,
        )
    return None


def _guard(
    target: Target, name: str, action: ActionPolicy, policy: Policy, guards: GuardState, now: float
) -> Refusal | None:
    if refusal := namespace_refusal(target, name, action, policy):
        return refusal
    last = guards.last_mutation_at.get(target.key)
    if name in MUTATING and last is not None and now - last < action.cooldown_seconds:
        return Refusal(
            "cooldown",
            f"{target.key} was changed {now - last:.0f}s ago; cooldown is {action.cooldown_seconds:g}s",
            target.key,
        )
    return None


def _ladder_steps(
    alert: Alert, policy: Policy, action: str, event: str, at_once: bool, reason: str | None = None
) -> list[PlannedStep]:
    steps = []
    for index, rung in enumerate(policy.ladder_for(alert.severity, action)):
        for channel in rung.channels:
            steps.append(
                PlannedStep(
                    kind="escalation",
                    name=channel,
                    delay_seconds=0.0 if at_once else rung.after_seconds,
                    params={"event": event, "rung": index, **({"reason": reason} if reason else {})},
                    key=f"escalation:{event}:{index}:{channel}",
                )
            )
    return steps


def decide_firing(alert: Alert, policy: Policy, guards: GuardState, now: float) -> Decision:
    """The plan for an instance seen firing for the first time."""
    name = alert.action
    if name not in ACTIONS:
        return Decision(NOTIFY_ONLY, tuple(_ladder_steps(alert, policy, NOTIFY_ONLY, "firing", False)))
    action = policy.actions[name]
    refusals: list[Refusal] = []
    accepted: list[Target] = []
    targets = _targets(alert, action)
    if action.mode == "disabled":
        refusals.append(Refusal("disabled", f"{name} is disabled in the policy"))
    elif not targets and name in MUTATING:
        refusals.append(Refusal("no_target", "the rule names no target_namespace with a deployment or selector"))
    elif len(targets) > action.max_targets:
        refusals.append(Refusal("max_targets", f"{len(targets)} targets exceed max_targets {action.max_targets}"))
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
                    "circuit_breaker",
                    f"{policy.breaker_max_mutations} mutating actions already ran in the last "
                    f"{policy.breaker_window_seconds:g}s; the circuit breaker is open",
                    t.key,
                )
                for t in accepted[max(room, 0) :]
            ]
            accepted = accepted[: max(room, 0)]
    steps = [
        PlannedStep(
            kind="remediation",
            name=name,
            delay_seconds=0.0,
            params={"target": t.as_dict(), "mode": action.mode},
            key=f"remediation:{name}:{t.key}",
            target_key=t.key,
        )
        for t in accepted
    ]
    if name == "EMERGENCY_STOP" and accepted and action.hook is not None:
        steps.append(
            PlannedStep(
                kind="remediation",
                name="EMERGENCY_HOOK",
                delay_seconds=0.0,
                params={"targets": [t.as_dict() for t in accepted], "mode": action.mode},
                key="remediation:EMERGENCY_HOOK",
            )
        )
    reason = "; ".join(f"{name} refused ({r.guard}): {r.reason}" for r in refusals) or None
    steps += _ladder_steps(alert, policy, name, "firing", at_once=bool(refusals), reason=reason)
    return Decision(name, tuple(steps), tuple(refusals))


def unfreeze_steps(frozen: Sequence[Target], policy: Policy) -> list[PlannedStep]:
    """Lift what an instance's freeze froze, a step per deployment; keyed per instance and
    target, so that however often it is planned it runs once."""
    mode = policy.actions["FREEZE_DEPLOYMENTS"].mode
    return [
        PlannedStep(
            kind="remediation",
            name="UNFREEZE",
            delay_seconds=0.0,
            params={"target": t.as_dict(), "mode": mode},
            key=f"remediation:UNFREEZE:{t.key}",
            target_key=t.key,
        )
        for t in frozen
    ]


def decide_resolved(
    alert: Alert,
    policy: Policy,
    notified: frozenset[str],
    frozen: Sequence[Target],
    cancelled_remediations: int,
    freezing: bool = False,
) -> Decision:
    """The plan when a firing instance resolves: tell whoever was told, undo only what policy
    says, and only what this instance did (`frozen`: the targets its freeze actually froze).
    `freezing`: its freeze is still running, so what it freezes is not known yet; the freeze's
    own outcome lifts it where the policy says so, and people are told which."""
    name = alert.action if alert.action in ACTIONS else NOTIFY_ONLY
    steps: list[PlannedStep] = []
    follow_up = {
        "EMERGENCY_STOP": "nothing is restored automatically; run `responder restore` when safe",
        "FREEZE_DEPLOYMENTS": "deployments stay frozen; it is now safe to run `responder unfreeze`",
    }.get(name)
    if name == "FREEZE_DEPLOYMENTS" and policy.actions[name].unfreeze_on_resolve and (frozen or freezing):
        follow_up = "deployments are being unfrozen, as the policy says"
        if freezing:
            follow_up += "; the freeze still running is lifted once it finishes"
        steps += unfreeze_steps(frozen, policy)
    elif name == "FREEZE_DEPLOYMENTS" and freezing:
        follow_up = (
            "the freeze is still running and what it freezes stays frozen; "
            "run `responder unfreeze` once it has finished"
        )
    if cancelled_remediations:
        note = f"{cancelled_remediations} remediation step(s) had not run yet and were cancelled"
        follow_up = f"{note}; {follow_up}" if follow_up else note
    for channel in sorted(notified):
        params: dict[str, Any] = {"event": "resolved"}
        if follow_up:
            params["follow_up"] = follow_up
        steps.append(PlannedStep("escalation", channel, 0.0, params, f"escalation:resolved:{channel}"))
    return Decision(name, tuple(steps))
