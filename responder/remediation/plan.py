"""The `plan` mode remediator: records exactly what it would do and touches nothing.

It is what runs when no cluster is configured, so that the whole chain (ingest, decision,
guards, escalation, audit) works and can be watched before anything is allowed to act.
"""

from responder.journal import Step, StepResult

_WOULD = {
    "EMERGENCY_STOP": "record the current replica count on {target} and scale it to 0",
    "FREEZE_DEPLOYMENTS": "pause rollouts of {target} and mark it frozen by {alert}",
    "UNFREEZE": "resume rollouts of {target} and clear its freeze",
    "INVESTIGATE": "collect rollout status, unhealthy pods, warning events and recent logs of {target}",
}


def _describe(target: dict[str, str]) -> str:
    name = (
        f"deployment {target['deployment']}" if "deployment" in target else f"deployments matching {target['selector']}"
    )
    return f"{name} in namespace {target['namespace']}"


class PlanRemediator:
    async def remediate(self, step: Step) -> StepResult:
        target = _describe(step.params["target"])
        would = _WOULD[step.name].format(target=target, alert=step.instance.alertname)
        return StepResult("succeeded", {"mode": "plan", "would": would, "changed": False})
