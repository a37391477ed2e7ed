"""Alerts, steps and plans the journal tests share: each goes through the Journal protocol only."""

from msgspec.structs import replace

from responder.alerts import Alert
from responder.journal import Journal, Step, Transaction
from responder.planner import PlannedStep
from responder.vocabulary import StepKind

NOW = 1_800_000_000.0
ALERT = Alert(
    "fp1",
    "2026-11-23T13:00:00.000000Z",
    "firing",
    {"alertname": "X", "severity": "critical"},
    {"action": "EMERGENCY_STOP"},
)
KEY = (ALERT.fingerprint, ALERT.starts_at)
STOP = PlannedStep(
    StepKind.REMEDIATION,
    "EMERGENCY_STOP",
    0.0,
    {"target": {"namespace": "n", "deployment": "d"}},
    "remediation:EMERGENCY_STOP:n/d",
)
RUNG = PlannedStep(StepKind.ESCALATION, "sms", 900.0, {"event": "firing", "rung": 1}, "escalation:firing:sms")


async def claim(journal: Journal, kind: StepKind, limit: int, now: float, lease_seconds: float) -> list[Step]:
    return await journal.transact(lambda tx: tx.claim(kind, limit, now, lease_seconds))


def due(kind: StepKind, count: int, start: int = 0, delay: float = 0.0) -> list[PlannedStep]:
    name = "EMERGENCY_STOP" if kind == "remediation" else "slack"
    return [PlannedStep(kind, name, delay, {"n": i}, f"{kind}:{i}") for i in range(start, start + count)]


async def plan(journal: Journal, *steps: PlannedStep, fingerprint: str = ALERT.fingerprint) -> None:
    """`steps` for the alert instance `fingerprint` (ALERT's by default), added if it is new."""
    alert = replace(ALERT, fingerprint=fingerprint)

    def add(tx: Transaction) -> None:
        key = (alert.fingerprint, alert.starts_at)
        instance = tx.instances([key]).get(key) or tx.insert_instance(alert, NOW)
        tx.add_steps(instance, steps, NOW, "c1")

    await journal.transact(add)


async def storm(journal: Journal, count: int, start: int) -> None:
    """`count` other alerts firing, each with a later rung and a delayed remediation pending."""

    def add(tx: Transaction) -> None:
        for i in range(start, start + count):
            other = tx.insert_instance(replace(ALERT, fingerprint=f"other{i}"), NOW)
            tx.add_steps(other, [RUNG, *due(StepKind.REMEDIATION, 1, delay=900)], NOW, f"c{i}")

    await journal.transact(add)
