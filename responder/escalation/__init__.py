"""Escalation: telling humans. The engine hands each escalation step to a Notifier."""

from typing import Protocol

from responder.journal import Step, StepResult


class Notifier(Protocol):
    async def notify(self, step: Step) -> StepResult: ...
