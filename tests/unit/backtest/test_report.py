"""The simulation and its report, without Prometheus: instances through the responder's own
engine on a simulated clock, counted from the journal, and printed safely for people."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from responder.backtest.instances import AlertInstance, fingerprint
from responder.backtest.report import Window, build
from responder.backtest.simulate import simulate
from responder.cli.backtest import render
from responder.policy import load_policy
from tests.conftest import write_policy

POLICY = load_policy(None, offline=True)
MIDNIGHT = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
WATCH = {"action": "INVESTIGATE", "target_namespace": "shop", "target_deployment": "web"}


FREEZE = {"action": "FREEZE_DEPLOYMENTS", "target_namespace": "shop", "target_deployment": "web"}


def _instance(
    name: str, start: float, end: float | None, annotations: dict[str, str] | None = None, already: bool = False
) -> AlertInstance:
    labels = {"alertname": name, "severity": "critical"}
    return AlertInstance(fingerprint(labels), start, end, labels, annotations or WATCH, already)


def _report(*instances: AlertInstance, end: float = MIDNIGHT + 86400) -> dict[str, Any]:
    timelines = asyncio.run(simulate(POLICY, instances, MIDNIGHT - 86400, end))
    opened = {i.fingerprint for i in instances if i.already_firing}
    return build(timelines, POLICY, Window(MIDNIGHT - 86400, end, 3), opened)


def test_the_sms_rung_runs_when_the_alert_outlasts_it_since_nobody_acknowledges() -> None:
    report = _report(_instance("Long", MIDNIGHT + 3600, MIDNIGHT + 3600 + 1200))
    [alert] = report["alerts"]
    assert alert["messages"] == {"slack": 2, "pagerduty": 2, "sms": 2}  # firing, then resolved, on each
    assert "nobody acknowledges" in report["acknowledgements"]


def test_a_resolve_before_the_sms_rung_cancels_it() -> None:
    [alert] = _report(_instance("Short", MIDNIGHT + 3600, MIDNIGHT + 3600 + 600))["alerts"]
    assert alert["messages"] == {"slack": 2, "pagerduty": 2}


def test_messages_count_on_the_day_they_were_sent() -> None:
    report = _report(_instance("LateNight", MIDNIGHT - 600, None))
    assert report["messages_per_day"] == {"2026-11-01": {"pagerduty": 1, "slack": 1}, "2026-11-02": {"sms": 1}}


def test_an_alert_firing_at_the_window_end_is_never_resolved() -> None:
    [alert] = _report(_instance("Open", MIDNIGHT, None), end=MIDNIGHT + 60)["alerts"]
    assert alert["messages"] == {"slack": 1, "pagerduty": 1}  # the SMS rung falls after the window


def test_an_alert_already_firing_when_the_window_opened_is_counted_apart() -> None:
    watchdog = _instance("Watchdog", MIDNIGHT - 86400 + 30, MIDNIGHT - 600, already=True)
    report = _report(watchdog, _instance("Watchdog", MIDNIGHT, MIDNIGHT + 60))  # resolved, then fires anew
    [alert] = report["alerts"]
    assert (alert["fired"], alert["already_firing"], report["already_firing"]) == (1, 1, 1)
    assert alert["messages"] == {"slack": 2, "pagerduty": 2}  # the new firing's, not the open one's ladder
    assert report["busiest_hour"]["firings"] == 1
    assert report["flapping"] == []


def test_an_alert_already_firing_when_the_window_opened_still_holds_its_cooldown() -> None:
    opened = _instance("Freeze", MIDNIGHT - 86400 + 30, MIDNIGHT - 86400 + 120, FREEZE, already=True)
    again = _instance("Freeze", MIDNIGHT - 86400 + 300, MIDNIGHT - 86400 + 400, FREEZE)  # within the 10m cooldown
    [alert] = _report(opened, again)["alerts"]
    assert (alert["fired"], alert["already_firing"], alert["planned"], alert["refused"]) == (1, 1, {}, {"cooldown": 1})


def test_the_summary_says_how_many_were_already_firing() -> None:
    text = render(_report(_instance("Watchdog", MIDNIGHT - 86400 + 30, None, already=True)))
    assert "1 of them already firing when the window opened: simulated" in text
    assert "No page and no SMS would have been sent." in text


def test_the_summary_escapes_control_characters_from_labels() -> None:
    hostile = "Evil\x1b[2J\nFAKE LINE"
    text = render(_report(_instance(hostile, MIDNIGHT, MIDNIGHT + 60)))
    assert "\x1b" not in text
    assert "Evil\\x1b[2J\\nFAKE LINE" in text
    assert "Note: nobody acknowledges in a backtest" in text


def test_a_policy_on_a_shared_postgresql_journal_is_backtested_on_a_scratch_journal(tmp_path: Path) -> None:
    """The replicas would act on what a backtest planned in their database: it is never opened
    (port 1 refuses every connection, so opening it would fail the backtest)."""
    shared = {"journal": {"postgresql": {"dsn": "postgresql://responder@127.0.0.1:1/x"}}}
    policy = load_policy(write_policy(tmp_path, shared), env={})
    instance = _instance("Long", MIDNIGHT + 3600, MIDNIGHT + 3600 + 1200)
    [[timeline]] = asyncio.run(simulate(policy, [instance], MIDNIGHT - 86400, MIDNIGHT + 86400))
    assert timeline["alertname"] == "Long"
