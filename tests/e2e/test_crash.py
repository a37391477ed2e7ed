"""SIGKILL the responder while Alertmanager delivers a storm, restart it: Alertmanager retries,
every alert instance is handled, no deployment is scaled or paused twice, no SMS goes twice."""

import time
import urllib.request

from tests import journal_rows
from tests.e2e.processes import wait_for
from tests.e2e.stack import FREEZE, INVESTIGATE, STOP, Stack

TENANTS = [f"t{i:02d}" for i in range(20)]  # one alert instance per tenant and alert: 60 in all
ALERTS = (STOP, FREEZE, INVESTIGATE)
DOWN_SECONDS = 3.0  # long enough for Alertmanager's sends to fail and its retries to start


def failed_webhook_sends(stack: Stack) -> float:
    with urllib.request.urlopen(stack.alertmanagers[0].ready_url.replace("/-/ready", "/metrics"), timeout=5) as r:
        lines = r.read().decode().splitlines()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("alertmanager_notification_requests_failed_total") and 'integration="webhook"' in line
    )


def test_a_responder_killed_in_a_storm_handles_every_alert_after_a_restart_and_repeats_nothing(
    stack: Stack, report: list[str]
) -> None:
    stack.start_responder({"circuit_breaker.max_mutations": 1000})
    stack.start_alerting()
    for alert in ALERTS:
        for tenant in TENANTS:
            stack.trip(alert, tenant=tenant)
    wait_for("the storm to start arriving", lambda: journal_rows.notification_count(stack.journal) >= 10, 20, 0.02)
    assert stack.responder is not None
    stack.responder.kill()
    time.sleep(DOWN_SECONDS)
    stack.responder.start()

    expected = len(TENANTS)
    for name, *_ in ALERTS:
        wait_for(f"every {name}", lambda: len(stack.instances(name)) == expected, 60, 0.5)  # noqa: B023 (called at once)
    stack.settled()
    assert failed_webhook_sends(stack) > 0, "Alertmanager never saw the responder down; the test proves nothing"

    assert stack.fakes.scale_writes("o3-audit-proxy") == [0]
    assert stack.fakes.pause_writes("gemini-audit") == [True]
    assert not [w for w in stack.fakes.kube.writes if w[1] == "meta-builder"]
    remediations = journal_rows.remediations_per_instance(stack.journal)
    refused = {instance for instance, detail in journal_rows.firing_events(stack.journal) if detail["refusals"]}
    assert len(remediations) == expected * len(ALERTS), "an alert instance was lost"
    assert max(remediations.values()) == 1, "an instance was remediated twice"
    assert {i for i, count in remediations.items() if count == 0} <= refused, (
        "an instance was neither acted on nor refused"
    )
    assert len(refused) == 2 * (expected - 1), "every stop and freeze after the first meets the cooldown guard"

    delivered = {f"s{step}" for step in journal_rows.delivered_steps(stack.journal)}
    sms = stack.fakes.sms_per_step()
    assert set(sms) == delivered and set(sms.values()) == {1}, "an SMS went twice, or unrecorded"
    stop_texts = [m for m in stack.fakes.twilio.messages if STOP[0] in m["body"]]
    assert len(stop_texts) == expected, "one SMS per emergency stop instance"
    report.append(
        f"crash: {len(remediations)} instances, {sum(remediations.values())} remediations, {len(refused)} refused by"
        f" cooldown; scale writes {stack.fakes.scale_writes('o3-audit-proxy')}, pause writes"
        f" {stack.fakes.pause_writes('gemini-audit')}; {len(sms)} SMS, at most {max(sms.values())} per step;"
        f" {failed_webhook_sends(stack):.0f} webhook sends failed while the responder was down"
    )
