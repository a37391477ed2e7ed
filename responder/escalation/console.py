"""The console notifier: each escalation step as one readable line on standard output.

Used for every channel that has no credentials configured, so that a responder started with
nothing but defaults still shows, in order, whom it would have told and what.
"""

import sys
from typing import TextIO

from responder.escalation.content import one_line
from responder.journal import Step, StepResult

# A line printed again because the attempt that printed it may have been cut short before its
# outcome was recorded: the console cannot look back at what it printed, so it says so.
REPEATED = "REPEATED: an earlier attempt was interrupted and may already have shown this"
_EVENT_WORDS = {
    "firing": "FIRING",
    "resolved": "RESOLVED",
    "remediation_failed": "REMEDIATION FAILED",
}


def render(step: Step) -> str:
    """The message a person would read, without any secret or raw label dump, on one line: alert
    text cannot end it or start a forged one (see `content.one_line`)."""
    inst = step.instance
    event = _EVENT_WORDS.get(step.params.get("event", ""), step.params.get("event", "").upper())
    summary = inst.annotations.get("summary", inst.alertname)
    parts = [
        f"[{step.name}] {event} {inst.severity or 'no-severity'} {inst.alertname}: {summary}",
        f"action {inst.action or 'none'}",
    ]
    if "follow_up" in step.params:
        parts.append(step.params["follow_up"])
    parts += [step.params[key] for key in ("reason", "fallback_reason") if key in step.params]
    if runbook := inst.annotations.get("runbook_url"):
        parts.append(runbook)
    if step.interrupted:
        parts.append(REPEATED)
    return one_line(" | ".join(parts))


class ConsoleNotifier:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out

    async def notify(self, step: Step) -> StepResult:
        line = render(step)
        print(line, file=self._out, flush=True)
        return StepResult("succeeded", {"channel": step.name, "via": "console", "text": line})
