"""What the ladder plans beyond the decision's rungs, as pure functions of a finished step:
thread updates, fallbacks, the escalation of a failed remediation, and the announcement of an
acknowledgement. The steps themselves are built by `responder.planner`.

- A remediation that failed for good is told to every channel of its ladder at once.
- A remediation that finished is told in the alert's Slack thread (findings included).
- A rung that went out on another channel is told in the thread too.
- A channel that failed for good hands the message to the next channel of the ladder at once
  (the console when none is left), so a broken token never silences an alert.
- What Alertmanager's silence for an acknowledged alert did, or why it could not, is said in
  the thread.
"""

from collections.abc import Callable, Sequence

from responder.escalation.content import escalation_text, remediation_text
from responder.escalation.silence import silence_text
from responder.journal import Instance, Step, StepResult
from responder.planner import (
    PlannedStep,
    acknowledged_steps,
    fallback_step,
    remediation_failed_steps,
    thread_update,
)
from responder.policy import Policy
from responder.vocabulary import AttemptOutcome, Channel, MessageEvent, StepKind

THREAD = Channel.SLACK
LAST_RESORT = Channel.CONSOLE
FALLBACK_EVENTS = (MessageEvent.FIRING, MessageEvent.REMEDIATION_FAILED)


def ladder_channels(policy: Policy, instance: Instance) -> list[str]:
    """The instance's channels in ladder order, each once."""
    ordered: list[str] = []
    for rung in policy.ladder_for(instance.severity, instance.action):
        ordered += [c for c in rung.channels if c not in ordered]
    return ordered


def follow_ups(kind: str, step: Step, result: StepResult, policy: Policy) -> list[PlannedStep]:
    """Steps to plan in the same transaction that records `step`'s final outcome, so that no
    crash in between can lose them (a failed remediation's page above all)."""
    if result.status == AttemptOutcome.RETRY:
        return []
    channels = ladder_channels(policy, step.instance)
    event = step.params.get("event")
    threaded = THREAD in channels and policy.channels.slack.enabled  # the console has no thread
    if kind == StepKind.REMEDIATION:
        steps = failure_escalation(step, result, channels) if result.status == AttemptOutcome.FAILED else []
        if threaded:
            steps.append(thread_update(step.id, THREAD, remediation_text(step, result)))
        return steps
    if step.name == Channel.SILENCE:  # said in the thread; never handed to another channel
        return [thread_update(step.id, THREAD, silence_text(step, result))] if threaded else []
    if result.status == AttemptOutcome.FAILED and event in FALLBACK_EVENTS:
        return [fallback(step, result, channels)]
    told_elsewhere = step.name != THREAD and event == MessageEvent.FIRING and "fallback_from" not in step.params
    if result.status == AttemptOutcome.SUCCEEDED and told_elsewhere and threaded:
        return [thread_update(step.id, THREAD, escalation_text(step, result))]
    return []


def failure_escalation(step: Step, result: StepResult, channels: Sequence[str]) -> list[PlannedStep]:
    """A remediation that failed for good is told to every channel of its ladder at once."""
    reason = f"{step.name} on {step.params.get('target')} failed: {result.detail}"
    return remediation_failed_steps(step.id, sorted(channels), reason)


def fallback(step: Step, result: StepResult, channels: Sequence[str]) -> PlannedStep:
    after = channels[channels.index(step.name) + 1 :] if step.name in channels else []
    following = after[0] if after else LAST_RESORT
    params = {
        **step.params,
        "fallback_from": step.name,
        # Not "reason": channels read that as why the alert was not remediated.
        "fallback_reason": f"{step.name} failed for good: {result.detail.get('error', result.detail)}",
    }
    return fallback_step(step.id, params, following)


def ack_steps(
    actor: str, via: str, silence: bool = False
) -> Callable[[Instance, frozenset[str], Sequence[str]], list[PlannedStep]]:
    """The planner the journal calls when it records an acknowledgement: tell every channel
    that was told about the alert, except SMS (an ack is no reason to wake anyone); and, when
    `silence`, silence the alert in Alertmanager."""

    def plan(instance: Instance, notified: frozenset[str], stopped: Sequence[str]) -> list[PlannedStep]:
        params = {"event": MessageEvent.ACKNOWLEDGED, "actor": actor, "via": via, "stopped": list(stopped)}
        told = [c for c in sorted(notified) if c not in (Channel.SMS, Channel.SILENCE)]
        return acknowledged_steps([*told, *([Channel.SILENCE] if silence else [])], params)

    return plan
