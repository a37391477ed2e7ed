"""Undo from an alert: a person restores or unfreezes what the alert's own action changed.

The Slack Restore and Unfreeze buttons call this. It acts only on the deployments the journal
says the alert's action holds (stopped or frozen), and only for the Slack users or user groups
the policy allows; who asked, and what each target's undo did, goes on the alert's timeline,
and the answer is said in the alert's Slack thread.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from responder.escalation.slack import SLACK_FAILURES, SlackNotifier
from responder.journal import Instance, Journal
from responder.planner import operator_update
from responder.remediation import Operator
from responder.targets import Target
from responder.vocabulary import Action, Channel, HoldState, StepKind, TimelineEvent, Undo

log = logging.getLogger("responder.remediation.undo")

UNDOES = {Undo.RESTORE: Action.EMERGENCY_STOP, Undo.UNFREEZE: Action.FREEZE_DEPLOYMENTS}  # the action each undoes


async def _allowed(slack: SlackNotifier, user: str) -> bool:
    if user in slack.policy.allowed_users:
        return True
    for group in slack.policy.allowed_groups:
        try:
            members = await slack.client.usergroups_users_list(usergroup=group)
        except SLACK_FAILURES as exc:
            log.warning("cannot read a Slack user group", extra={"group": group, "error": type(exc).__name__})
            continue
        if user in members.get("users", []):
            return True
    return False


_HELD = {Undo.RESTORE: HoldState.STOPPED, Undo.UNFREEZE: HoldState.FROZEN}


@dataclass(frozen=True)
class AlertUndo:
    journal: Journal
    operator: Operator
    wake: Callable[[str], None]  # Engine.wake
    clock: Callable[[], float]

    async def from_slack(
        self, slack: SlackNotifier, undo: Undo, fingerprint: str, user: str, starts_at: str | None = None
    ) -> str:
        """Undo what this alert's action changed for Slack user `user` (the instance that started at
        `starts_at`, which the button names; else the latest); the answer for the person."""
        actor, now = f"slack:{user}", self.clock()
        found = await self.journal.escalation.acted_targets(fingerprint, UNDOES[undo], starts_at)
        if found is None:
            return f"No alert with fingerprint {fingerprint}."
        instance, acted = found
        if not await _allowed(slack, user):
            await self.journal.escalation.record_event(
                instance.id, TimelineEvent.OPERATOR_ACTION_REFUSED, {"actor": actor, "action": undo}, now
            )
            return f"You are not allowed to {undo}: ask for escalation.slack.allowed_users or allowed_groups."
        targets = await self._targets(instance, undo, acted)
        if not targets:
            return f"{UNDOES[undo]} changed nothing for this alert; there is nothing to {undo}."
        operate = self.operator.restore if undo is Undo.RESTORE else self.operator.unfreeze
        lines = []
        for target in targets:
            result = await operate(target, actor)
            raw = target.as_dict()
            detail = {"actor": actor, "action": undo, "target": raw, "ok": result.ok, "message": result.message}
            await self.journal.escalation.record_event(instance.id, TimelineEvent.OPERATOR_ACTION, detail, self.clock())
            lines.append(f"{'done' if result.ok else 'FAILED'}: {target.key}: {result.message}")
        text = f"pressed {undo.capitalize()}:\n" + "\n".join(lines)
        update = operator_update(Channel.SLACK, actor, user, text, now)
        await self.journal.transact(lambda tx: tx.add_steps(instance, [update], now, f"slack/{fingerprint}"))
        self.wake(StepKind.ESCALATION)
        return "\n".join(lines)

    async def _targets(self, instance: Instance, undo: Undo, acted: list[dict[str, str]]) -> list[Target]:
        """The deployments this instance's action holds now, each by name: a selector resolved
        again now could match a deployment another alert stopped, or none it stopped. With no
        hold recorded (plan and server mode record none), the targets its action named one by
        one; a selector's are then not known, and not guessed."""
        held = await self.journal.transact(lambda tx: tx.held(instance, _HELD[undo]))
        if held:
            return [Target(namespace, deployment) for namespace, deployment in held]
        return [Target(**raw) for raw in acted if raw.get("deployment")]
