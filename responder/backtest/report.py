"""What the journal of a backtest recorded, counted: per alert and action, per channel and day.

Everything is read from the journal's timelines (`Journal.timeline`), not worked out again: a
remediation counts when its planned step ran (plan mode records what it would have done), a
refusal is one the firing decision recorded, or one execution recorded on a step, with its
guard, and a message is an escalation step that was delivered, on the day (UTC) it ran.

An instance already firing when the window opened was simulated (cooldowns and the breaker saw
its remediation, as they would have) but its firing happened before the window: it is counted
apart, as `already_firing`, and nothing of it (remediation, refusal, message, hour, flap) is
counted with the firings.
"""

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from responder.alerts import Alert
from responder.backtest.simulate import Timeline
from responder.decision import targets_of
from responder.policy import Policy
from responder.vocabulary import Channel, StepKind, StepStatus, TimelineEvent

NOBODY_ACKNOWLEDGES = "nobody acknowledges in a backtest: every ladder ran on until its alert resolved"
PAGING = (Channel.PAGERDUTY, Channel.SMS)


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    flap_threshold: int


def _hour(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:00Z")


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def _target(instance: dict[str, Any], policy: Policy) -> str:
    """What a flap is counted on: the targets the guards look at, or the alert's own labels."""
    alert = Alert(instance["fingerprint"], instance["starts_at"], "firing", instance["labels"], instance["annotations"])
    keys = [t.key for t in targets_of(alert, policy)]
    if keys:
        return ", ".join(keys)
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(instance["labels"].items()) if k != "alertname")
    return "{" + labels + "}"


def build(timelines: Sequence[Timeline], policy: Policy, window: Window, opened: Collection[str]) -> dict[str, Any]:
    """The report, as `--output json` prints it. `opened`: the fingerprints whose first instance
    was already firing when the window opened."""
    per_alert: dict[tuple[str, str], dict[str, Any]] = {}
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    firings_per_hour: Counter[str] = Counter()
    flaps: Counter[tuple[str, str]] = Counter()
    instances = already_firing = 0
    for instance, first in ((i, n == 0) for timeline in timelines for n, i in enumerate(timeline)):
        instances += 1
        row = per_alert.setdefault(
            (instance["alertname"], instance["action"]),
            {
                "fired": 0,
                "already_firing": 0,
                "planned": Counter[str](),
                "refused": Counter[str](),
                "messages": Counter[str](),
            },
        )
        if first and instance["fingerprint"] in opened:
            row["already_firing"] += 1
            already_firing += 1
            continue
        firing = next((e for e in instance["events"] if e["kind"] == TimelineEvent.FIRING), None)
        if firing is None:
            continue
        row["fired"] += 1
        firings_per_hour[_hour(firing["at"])] += 1
        flaps[(instance["alertname"], _target(instance, policy))] += 1
        row["refused"].update(r["guard"] for r in firing["detail"].get("refusals", []))
        for step in instance["steps"]:
            last = step["attempts"][-1] if step["attempts"] else None
            if last is not None and (refused := last["detail"].get("refused")):
                row["refused"][refused["guard"]] += 1
            if step["status"] != StepStatus.SUCCEEDED or last is None:
                continue
            if step["kind"] == StepKind.REMEDIATION:
                row["planned"][step["name"]] += 1
            else:
                row["messages"][step["name"]] += 1
                per_day[_day(last["finished_at"])][step["name"]] += 1
    busiest = max(sorted(firings_per_hour.items()), key=lambda kv: kv[1], default=None)
    return {
        "window": {"from": _time(window.start), "to": _time(window.end)},
        "policy": policy.source,
        "instances": instances,
        "already_firing": already_firing,
        "acknowledgements": NOBODY_ACKNOWLEDGES,
        "alerts": [
            {"alertname": name, "action": action, **{k: dict(v) if isinstance(v, Counter) else v for k, v in r.items()}}
            for (name, action), r in sorted(per_alert.items())
        ],
        "messages_per_day": {day: dict(sorted(counts.items())) for day, counts in sorted(per_day.items())},
        "busiest_hour": {"hour": busiest[0], "firings": busiest[1]} if busiest else None,
        "flap_threshold": window.flap_threshold,
        "flapping": [
            {"alertname": name, "target": target, "firings": count}
            for (name, target), count in sorted(flaps.items())
            if count > window.flap_threshold
        ],
    }


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
