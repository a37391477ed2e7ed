"""The `plan` mode remediator: records exactly what it would do and touches nothing.

It is what runs when no cluster is configured, so that the whole chain (ingest, decision,
guards, escalation, audit) works and can be watched before anything is allowed to act.

A human undo in plan mode answers as a live responder would have: a restore or an unfreeze of a
deployment that no alert's (planned) stop or freeze named is refused, as live refuses one
without a recorded stop or freeze. What the plan named is read from the journal: the targets
each alert's plan-mode step succeeded on (`planned`).
"""

from dataclasses import dataclass
from typing import Any

from responder.journal import Journal, Step, StepResult
from responder.remediation import OperatorResult
from responder.targets import Target
from responder.vocabulary import Action

_WOULD = {
    "EMERGENCY_STOP": "record the current replica count on {target} and scale it to 0",
    "FREEZE_DEPLOYMENTS": "pause rollouts of {target} and mark it frozen by {alert}",
    "UNFREEZE": "resume rollouts of {target} and clear its freeze",
    "INVESTIGATE": "collect rollout status, unhealthy pods, warning events and recent logs of {target}",
    "RESTORE": "scale {target} back to the replica count recorded by its emergency stop",
    "EMERGENCY_HOOK": "call the emergency hook about {target}",
}
_UNDOES = {"RESTORE": Action.EMERGENCY_STOP, "UNFREEZE": Action.FREEZE_DEPLOYMENTS}
_NEVER = {"RESTORE": "stopped", "UNFREEZE": "frozen"}
MAX_INSTANCES = 200  # the latest alert instances of one action searched for what a plan named


def describe(target: Target) -> str:
    name = f"deployment {target.deployment}" if target.deployment else f"deployments matching {target.selector}"
    return f"{name} in namespace {target.namespace}"


@dataclass(frozen=True)
class Planned:
    """One target an alert instance's action named (and, in plan mode, only recorded)."""

    alertname: str
    status: str
    mode: str  # the action's mode when the step ran: only `live` changed the cluster
    target: Target


async def planned(journal: Journal, action: str, filters: dict[str, str] | None = None) -> list[Planned]:
    """The targets `action`'s steps succeeded on, by the latest alert instances of that action (at
    most MAX_INSTANCES of them) that match `filters` (e.g. `{"status": "firing"}`)."""
    found = []
    for row in await journal.instances({**(filters or {}), "action": action}, MAX_INSTANCES):
        for instance in await journal.timeline(row["fingerprint"]):
            if instance["starts_at"] != row["starts_at"]:
                continue
            found += [
                Planned(row["alertname"], row["status"], s["params"]["mode"], Target(**s["params"]["target"]))
                for s in instance["steps"]
                if s["kind"] == "remediation" and s["name"] == action and s["status"] == "succeeded"
            ]
    return found


class PlanRemediator:
    """`journal`: where a human undo looks up what the plan named; without one (a remediator
    used only for steps) an undo is answered with what it would do."""

    def __init__(self, journal: Journal | None = None) -> None:
        self._journal = journal

    async def remediate(self, step: Step) -> StepResult:
        targets = [step.params["target"]] if "target" in step.params else step.params.get("targets", [])
        target = "; ".join(describe(Target(**t)) for t in targets)
        would = _WOULD[step.name].format(target=target, alert=step.instance.alertname)
        return StepResult("succeeded", {"mode": "plan", "would": would, "changed": False})

    async def restore(self, target: Target, actor: str) -> OperatorResult:
        return await self._would("RESTORE", target, actor)

    async def unfreeze(self, target: Target, actor: str) -> OperatorResult:
        return await self._would("UNFREEZE", target, actor)

    async def _would(self, name: str, target: Target, actor: str) -> OperatorResult:
        detail: dict[str, Any] = {"mode": "plan", "actor": actor, "changed": False}
        if self._journal is not None and not [
            p for p in await planned(self._journal, _UNDOES[name]) if p.target == target
        ]:
            never = _NEVER[name]
            message = (
                f"plan mode: no alert's {_UNDOES[name]} named {describe(target)}, so a live responder would not "
                f"have {never} it and would refuse to {name.lower()} it; nothing to do"
            )
            return OperatorResult(False, message, {**detail, "refused": f"not_{never}"})
        would = _WOULD[name].format(target=describe(target), alert="")
        return OperatorResult(True, f"plan mode: would {would}", detail)
