"""Every step the responder plans is built here, with its key.

A step's key is unique per alert instance: the journal refuses a step whose key the instance
already has, and that makes planning idempotent across repeats, HA replicas and restarts. The
journals on disk hold these keys, so the key builders below keep their forms exactly.

What to plan is decided elsewhere (`decision` for an alert's transitions, `escalation.ladder` for
what follows a finished step, acknowledgement and undo where they are handled); this module only
gives each step its shape. It imports no journal: the journal stores what is planned here.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from responder.policy import Policy, Rung
from responder.targets import Target
from responder.vocabulary import Action, MessageEvent, StepKind


@dataclass(frozen=True)
class PlannedStep:
    kind: StepKind
    name: str  # the action, or the channel
    delay_seconds: float
    params: dict[str, Any]
    key: str  # unique per instance: the journal refuses to plan the same step twice
    target_key: str | None = None  # what the cooldown and breaker count, for remediation steps


HOOK_KEY = f"remediation:{Action.EMERGENCY_HOOK}"


def remediation_key(action: str, target_key: str) -> str:
    return f"remediation:{action}:{target_key}"


def rung_key(event: str, rung: int, channel: str) -> str:
    return f"escalation:{event}:{rung}:{channel}"


def resolved_key(channel: str) -> str:
    return f"escalation:resolved:{channel}"


def remediation_failed_key(step_id: int, channel: str) -> str:
    return f"escalation:remediation_failed:{step_id}:{channel}"


def thread_update_key(step_id: int) -> str:
    return f"escalation:update:{step_id}"


def operator_update_key(actor: str, at: float) -> str:
    return f"escalation:update:{actor}:{at}"


def fallback_key(step_id: int, channel: str) -> str:
    return f"escalation:fallback:{step_id}:{channel}"


def acknowledged_key(channel: str) -> str:
    return f"escalation:acknowledged:{channel}"


def remediation_steps(action: str, targets: Iterable[Target], mode: str) -> list[PlannedStep]:
    """One step of `action` per target, counted by the cooldown and the breaker under its key."""
    return [
        PlannedStep(
            StepKind.REMEDIATION,
            action,
            0.0,
            {"target": t.as_dict(), "mode": mode},
            remediation_key(action, t.key),
            target_key=t.key,
        )
        for t in targets
    ]


def hook_step(targets: Iterable[Target], mode: str) -> PlannedStep:
    """The emergency hook, once per instance, told every target its stop acts on."""
    params = {"targets": [t.as_dict() for t in targets], "mode": mode}
    return PlannedStep(StepKind.REMEDIATION, Action.EMERGENCY_HOOK, 0.0, params, HOOK_KEY)


def unfreeze_steps(frozen: Iterable[Target], policy: Policy) -> list[PlannedStep]:
    """Lift what an instance's freeze froze, a step per deployment; keyed per instance and
    target, so that however often it is planned it runs once."""
    return remediation_steps(Action.UNFREEZE, frozen, policy.actions[Action.FREEZE_DEPLOYMENTS].mode)


def ladder_steps(
    rungs: Sequence[Rung], event: MessageEvent, at_once: bool, reason: str | None = None
) -> list[PlannedStep]:
    """A step per channel of each rung, after the rung's delay unless `at_once`."""
    return [
        PlannedStep(
            StepKind.ESCALATION,
            channel,
            0.0 if at_once else rung.after_seconds,
            {"event": event, "rung": index, **({"reason": reason} if reason else {})},
            rung_key(event, index, channel),
        )
        for index, rung in enumerate(rungs)
        for channel in rung.channels
    ]


def resolved_steps(notified: Iterable[str], follow_up: str | None) -> list[PlannedStep]:
    """Tell each channel in `notified` that the alert resolved, and what follows from that."""
    params: dict[str, Any] = {"event": MessageEvent.RESOLVED}
    if follow_up:
        params["follow_up"] = follow_up
    return [PlannedStep(StepKind.ESCALATION, c, 0.0, params, resolved_key(c)) for c in notified]


def remediation_failed_steps(step_id: int, channels: Iterable[str], reason: str) -> list[PlannedStep]:
    """Tell each of `channels` at once that remediation step `step_id` failed for good."""
    params = {"event": MessageEvent.REMEDIATION_FAILED, "reason": reason}
    return [PlannedStep(StepKind.ESCALATION, c, 0.0, params, remediation_failed_key(step_id, c)) for c in channels]


def thread_update(step_id: int, channel: str, text: str) -> PlannedStep:
    """`text` in the alert's thread on `channel`, about what step `step_id` did."""
    params = {"event": MessageEvent.UPDATE, "text": text}
    return PlannedStep(StepKind.ESCALATION, channel, 0.0, params, thread_update_key(step_id))


def operator_update(channel: str, actor: str, by: str, text: str, at: float) -> PlannedStep:
    """`text` in the alert's thread on `channel`, about what `actor` (`by` on that channel) did at `at`."""
    params = {"event": MessageEvent.UPDATE, "text": text, "by": by}
    return PlannedStep(StepKind.ESCALATION, channel, 0.0, params, operator_update_key(actor, at))


def fallback_step(step_id: int, params: dict[str, Any], channel: str) -> PlannedStep:
    """Step `step_id`'s message, with `params`, handed to `channel` because its own channel failed."""
    return PlannedStep(StepKind.ESCALATION, channel, 0.0, params, fallback_key(step_id, channel))


def acknowledged_steps(channels: Iterable[str], params: dict[str, Any]) -> list[PlannedStep]:
    """Tell each of `channels` that the alert was acknowledged."""
    return [PlannedStep(StepKind.ESCALATION, c, 0.0, params, acknowledged_key(c)) for c in channels]
