"""The chain as users run it, once per action, with real catalogue alerts: a metric crosses the
threshold, Prometheus fires, Alertmanager delivers, the responder remediates in the (fake)
cluster and escalates to the (fake) providers, each exactly once; then the metric goes back
and the resolve path runs. Alertmanager re-sends every two seconds meanwhile, so exactly-once
is tested against real repeats, not one delivery.
"""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests import journal_rows
from tests.e2e.processes import wait_for
from tests.e2e.stack import FREEZE, INVESTIGATE, STOP, Stack


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with ExitStack() as exits:
        running = Stack(tmp_path_factory.mktemp("chain"), exits)
        running.start_responder()
        running.start_alerting()
        yield running


def fire_and_resolve(chain: Stack, alert: tuple[str, str, float, float], report: list[str]) -> None:
    """Trip the alert, time its remediation, let Alertmanager repeat it, then resolve it."""
    name = alert[0]
    timing = chain.timing(name, chain.trip(alert))
    seen = journal_rows.notification_count(chain.journal)
    wait_for("two repeats from Alertmanager", lambda: journal_rows.notification_count(chain.journal) >= seen + 2, 15)
    chain.calm(alert)
    chain.resolved(name)
    chain.settled()
    assert len(chain.steps(name, "remediation")) == 1, "one remediation step, whatever Alertmanager repeated"
    assert len(chain.fakes.slack_parents(name)) == 1
    assert len(chain.fakes.pages(name)) == 1
    assert len(chain.fakes.page_resolves(name)) == 1
    report.append(timing.line())
    report.append(
        f"{name}: {len(chain.firing_bodies(name))} firing notifications → 1 remediation step, 1 Slack message,"
        " 1 PagerDuty incident, 1 PagerDuty resolve"
    )


def test_a_cost_alert_stops_the_deployment_once_pages_everyone_once_and_a_resolve_restores_nothing(
    chain: Stack, report: list[str]
) -> None:
    fire_and_resolve(chain, STOP, report)
    assert chain.fakes.scale_writes("o3-audit-proxy") == [0]
    stops = chain.api("/api/v1/stops")["stops"]
    assert [(s["deployment"], s["replicas"]) for s in stops] == [("o3-audit-proxy", 3)]
    texts = [m["body"] for m in chain.fakes.twilio.messages]
    assert [t.startswith("RESOLVED") for t in texts] == [False, True], "EMERGENCY_STOP texts once, and its resolve"
    assert chain.fakes.kube.deployment("autogen-council", "o3-audit-proxy")["spec"]["replicas"] == 0


def test_an_accuracy_regression_freezes_the_deployment_once_and_the_freeze_outlives_the_resolve(
    chain: Stack, report: list[str]
) -> None:
    fire_and_resolve(chain, FREEZE, report)
    assert chain.fakes.pause_writes("gemini-audit") == [True]
    gate = chain.api("/api/v1/freezes/autogen-council/gemini-audit")
    assert gate["frozen"] is True, "unfreeze_on_resolve is off: a human lifts the freeze"


def test_an_open_circuit_breaker_is_investigated_without_touching_the_cluster(chain: Stack, report: list[str]) -> None:
    before = len(chain.fakes.kube.writes)
    fire_and_resolve(chain, INVESTIGATE, report)
    assert len(chain.fakes.kube.writes) == before
    (step,) = chain.steps(INVESTIGATE[0], "remediation")
    findings = step["attempts"][-1]["detail"]["findings"]
    assert [f["deployment"] for f in findings] == ["meta-builder/meta-builder"]


def test_no_alert_sent_more_than_one_sms(chain: Stack) -> None:
    assert all(count == 1 for count in chain.fakes.sms_per_step().values())
