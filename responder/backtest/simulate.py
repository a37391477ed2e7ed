"""The responder's own decision code over past alert instances, in time order, without effects.

The real responder is built (`build_responder`) on a throw-away SQLite journal, with every
action in plan mode (`dry_run`), no cluster, no Alertmanager, and every channel without
credentials, so that each message goes to the console notifier, which prints into a sink:
nothing is changed and nobody is told. The engine reads a simulated clock. Each notification is
built as Alertmanager's webhook body would be (all instances that start, or end, at one moment
in one body) and accepted at its moment; before it, the clock is moved to each step falling due
on the way (ladder rungs, which run as they would have, since nobody acknowledges) and the
engine drained there. What the journal recorded is the result: `report` counts it.
"""

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from responder.alerts import Notification, parse_notification
from responder.backtest.instances import AlertInstance
from responder.journal import STEP_KINDS
from responder.policy import Policy
from responder.service import Responder, build_responder

# The scratch journal is thrown away: kept in memory where the system offers it, its fsyncs cost nothing.
MEMORY = Path("/dev/shm")
Timeline = list[dict[str, Any]]  # the journal's timeline of each instance (Journal.timeline)


class SimulatedClock:
    """The time the engine reads: moved forward by the simulation only, never back."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, to: float) -> None:
        self.now = max(self.now, to)


def dry_run(policy: Policy) -> Policy:
    """Every action that may run only plans."""
    actions = {
        name: replace(action, mode="plan" if action.mode != "disabled" else "disabled")
        for name, action in policy.actions.items()
    }
    return replace(policy, actions=actions)


def silent(policy: Policy, journal: Path) -> Policy:
    """`policy` planning only, on `journal` (a SQLite file, even when the policy names a shared
    PostgreSQL journal, which a backtest must never write to), with no cluster, no Alertmanager
    and no channel credentials: every message goes to the console notifier. The journal keeps no
    free-space reserve: it is thrown away when the backtest ends."""
    channels = policy.channels
    console_only = replace(
        channels,
        slack=replace(channels.slack, bot_token=None),
        pagerduty=replace(channels.pagerduty, routing_key=None),
        sms=replace(channels.sms, account_sid=None),
        warnings=(),
    )
    return replace(
        dry_run(policy),
        journal_path=journal,
        journal_dsn=None,
        journal_reserve=0,
        channels=console_only,
        kubernetes=None,
        alertmanager=None,
    )


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notifications(instances: Sequence[AlertInstance]) -> Iterator[tuple[float, bytes, Notification]]:
    """Alertmanager's webhook bodies for the instances, in time order: at each moment, one body
    with every instance that resolves then, and one with every instance that starts firing."""
    events = [(i.start, 1, i) for i in instances] + [(i.end, 0, i) for i in instances if i.end is not None]
    events.sort(key=lambda e: (e[0], e[1], e[2].fingerprint))
    for (at, firing), group in groupby(events, key=lambda e: (e[0], e[1])):
        status = "firing" if firing else "resolved"
        alerts = [
            {
                "status": status,
                "fingerprint": i.fingerprint,
                "startsAt": _time(i.start),
                "endsAt": _time(i.end) if i.end is not None and not firing else "0001-01-01T00:00:00Z",
                "labels": dict(i.labels),
                "annotations": dict(i.annotations),
            }
            for _, _, i in group
        ]
        document = {"version": "4", "status": status, "groupKey": "backtest", "truncatedAlerts": 0, "alerts": alerts}
        body = json.dumps(document).encode()
        yield at, body, parse_notification(body)


async def simulate(policy: Policy, instances: Sequence[AlertInstance], start: float, end: float) -> list[Timeline]:
    """Each instance's timeline as the journal recorded it, fingerprint by fingerprint; steps
    falling due up to `end` have run."""
    scratch_root = MEMORY if MEMORY.is_dir() else None
    with (
        tempfile.TemporaryDirectory(prefix="responder-backtest-", dir=scratch_root) as scratch,
        Path(os.devnull).open("w") as sink,
    ):
        clock = SimulatedClock(start)
        responder = build_responder(silent(policy, Path(scratch) / "journal.db"), clock, sink)
        await responder.journal.start()
        try:
            for number, (at, body, notification) in enumerate(notifications(instances)):
                await _run_due(responder, clock, at)
                clock.advance(at)
                await responder.engine.accept(body, f"backtest-{number}", notification, clock.now)
                await responder.engine.drain()
            await _run_due(responder, clock, end)
            fingerprints = sorted({i.fingerprint for i in instances})
            return [await responder.journal.timeline(fp) for fp in fingerprints]
        finally:
            await responder.journal.close()


async def _run_due(responder: Responder, clock: SimulatedClock, until: float) -> None:
    """Move the clock to each step due by `until`, and run what is due there. Whatever was due
    at the clock's time has been drained already: a step still due then could not run, and
    waits for the next moment rather than holding the clock."""
    while True:
        due = [at for kind in STEP_KINDS if (at := await responder.journal.next_due(kind)) is not None]
        if not due or min(due) > until or min(due) <= clock.now:
            return
        clock.advance(min(due))
        await responder.engine.drain()
