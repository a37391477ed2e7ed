"""The `plan` mode remediator: records exactly what it would do and touches nothing.

It is what runs when no cluster is configured, so that the whole chain (ingest, decision,
guards, escalation, audit) works and can be watched before anything is allowed to act.
"""

from responder.journal import Step, StepResult
from responder.remediation import OperatorResult
from responder.targets import Target

_WOULD = {
    "EMERGENCY_STOP": "record the current replica count on {target} and scale it to 0",
    "FREEZE_DEPLOYMENTS": "pause rollouts of {target} and mark it frozen by {alert}",
    "UNFREEZE": "resume rollouts of {target} and clear its freeze",
    "INVESTIGATE": "collect rollout status, unhealthy pods, warning events and recent logs of {target}",
    "RESTORE": "scale {target} back to the replica count recorded by its emergency stop",
    "EMERGENCY_HOOK": "call the emergency hook about {target}",
}


def describe(target: Target) -> str:
    name = f"deployment {target.deployment}" if target.deployment else f"deployments matching {target.selector}"
    return f"{name} in namespace {target.namespace}"


class PlanRemediator:
    async def remediate(self, step: Step) -> StepResult:
        targets = [step.params["target"]] if "target" in step.params else step.params.get("targets", [])
        target = "; ".join(describe(Target(**t)) for t in targets)
        would = _WOULD[step.name].format(target=target, alert=step.instance.alertname)
        return StepResult("succeeded", {"mode": "plan", "would": would, "changed": False})

    async def restore(self, target: Target, actor: str) -> OperatorResult:
        return self._would("RESTORE", target, actor)

    async def unfreeze(self, target: Target, actor: str) -> OperatorResult:
        return self._would("UNFREEZE", target, actor)

    def _would(self, name: str, target: Target, actor: str) -> OperatorResult:
        would = _WOULD[name].format(target=describe(target), alert="")
        return OperatorResult(True, f"plan mode: would {would}", {"mode": "plan", "actor": actor, "changed": False})
