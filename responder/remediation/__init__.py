"""Remediation: what the responder does to the cluster. One implementation per environment.

The engine hands each claimed remediation step to a Remediator and records what it returns.
A Remediator must be idempotent per step: after a crash the same step may run again, and it
must find the target already in the desired state rather than act twice.
"""

from typing import Protocol

from responder.journal import Step, StepResult


class Remediator(Protocol):
    async def remediate(self, step: Step) -> StepResult: ...
