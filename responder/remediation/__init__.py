"""Remediation: what the responder does to the cluster. One implementation per environment.

The engine hands each claimed remediation step to a Remediator and records what it returns.
A Remediator must be idempotent per step: after a crash the same step may run again, and it
must find the target already in the desired state rather than act twice.

An Operator is the other direction: a human undoing what an action did (`responder restore`,
`responder unfreeze`, the Slack buttons). Its callers record who asked.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from responder.journal import Step, StepResult
from responder.targets import Target


class Remediator(Protocol):
    async def remediate(self, step: Step) -> StepResult: ...


@dataclass(frozen=True)
class OperatorResult:
    """What a human-requested undo did: `ok`, a sentence for the person, and details."""

    ok: bool
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


class Operator(Protocol):
    async def restore(self, target: Target, actor: str) -> OperatorResult: ...
    async def unfreeze(self, target: Target, actor: str) -> OperatorResult: ...
