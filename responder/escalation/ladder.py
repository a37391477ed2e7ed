"""What the ladder plans beyond the decision's rungs, as pure functions of a finished step:
thread updates, fallbacks, and the announcement of an acknowledgement.

- A remediation that finished is told in the alert's Slack thread (findings included).
- A rung that went out on another channel is told in the thread too.
- A channel that failed for good hands the message to the next channel of the ladder at once
  (the console when none is left), so a broken token never silences an alert.
"""

from collections.abc import Callable, Sequence

from responder.decision import PlannedStep
from responder.escalation.content import escalation_text, remediation_text
from responder.journal import Instance, Step, StepResult
from responder.policy import Policy

THREAD = "slack"
LAST_RESORT = "console"
FALLBACK_EVENTS = ("firing", "remediation_failed")


def ladder_channels(policy: Policy, instance: Instance) -> list[str]:
    """The instance's channels in ladder order, each once."""
    ordered: list[str] = []
    for rung in policy.ladder_for(instance.severity, instance.action):
        ordered += [c for c in rung.channels if c not in ordered]
    return ordered


def _thread_update(step: Step, text: str) -> PlannedStep:
    return PlannedStep("escalation", THREAD, 0.0, {"event": "update", "text": text}, f"escalation:update:{step.id}")


def follow_ups(kind: str, step: Step, result: StepResult, policy: Policy) -> list[PlannedStep]:
    """Steps to plan in the same transaction that records `step`'s final outcome."""
    if result.status == "retry":
        return []
    channels = ladder_channels(policy, step.instance)
    event = step.params.get("event")
    threaded = THREAD in channels and policy.channels.slack.enabled  # the console has no thread
    if kind == "remediation":
        return [_thread_update(step, remediation_text(step, result))] if threaded else []
    if result.status == "failed" and event in FALLBACK_EVENTS:
        return [fallback(step, result, channels)]
    told_elsewhere = step.name != THREAD and event == "firing" and "fallback_from" not in step.params
    if result.status == "succeeded" and told_elsewhere and threaded:
        return [_thread_update(step, escalation_text(step, result))]
    return []


def fallback(step: Step, result: StepResult, channels: Sequence[str]) -> PlannedStep:
    after = channels[channels.index(step.name) + 1 :] if step.name in channels else []
    following = after[0] if after else LAST_RESORT
    params = {
        **step.params,
        "fallback_from": step.name,
        # Not "reason": channels read that as why the alert was not remediated.
        "fallback_reason": f"{step.name} failed for good: {result.detail.get('error', result.detail)}",
    }
    return PlannedStep("escalation", following, 0.0, params, f"escalation:fallback:{step.id}:{following}")


def ack_steps(actor: str, via: str) -> Callable[[Instance, frozenset[str], Sequence[str]], list[PlannedStep]]:
    """The planner the journal calls when it records an acknowledgement: tell every channel
    that was told about the alert, except SMS (an ack is no reason to wake anyone)."""

    def plan(instance: Instance, notified: frozenset[str], stopped: Sequence[str]) -> list[PlannedStep]:
        params = {"event": "acknowledged", "actor": actor, "via": via, "stopped": list(stopped)}
        return [
            PlannedStep("escalation", c, 0.0, params, f"escalation:acknowledged:{c}")
            for c in sorted(notified)
            if c != "sms"
        ]

    return plan
