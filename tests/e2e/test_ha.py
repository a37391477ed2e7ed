"""Two clustered Alertmanagers, both delivering every notification to the responder. A pair
like this has been seen to send firing, resolved, then a stale firing with the same startsAt;
the responder must not act on the stale state. Cooldowns are off here, so nothing but the
alert-instance identity stands between a stale firing and a second stop."""

import time

from tests.e2e.stack import FREEZE, STOP, Stack

AFTER_RESOLVE = 6.0  # seconds of repeats and stale re-sends from both replicas after the undo
TARGETS = {"namespace": "autogen-council"}


def test_two_clustered_alertmanagers_cause_one_stop_one_freeze_and_no_re_stop_after_resolve(
    stack: Stack, report: list[str]
) -> None:
    stack.start_responder({"actions.EMERGENCY_STOP.cooldown": "0s", "actions.FREEZE_DEPLOYMENTS.cooldown": "0s"})
    stack.start_alerting(replicas=2)
    stack.trip(STOP)
    stack.trip(FREEZE)
    stack.remediated(STOP[0])
    stack.remediated(FREEZE[0])
    stack.calm(STOP)
    stack.calm(FREEZE)
    stack.resolved(STOP[0])
    stack.resolved(FREEZE[0])
    # A human undoes both once the alerts resolved; a stale firing must not undo the undo.
    assert stack.api("/api/v1/restore", {**TARGETS, "deployment": "o3-audit-proxy", "actor": "e2e"})["ok"]
    assert stack.api("/api/v1/unfreeze", {**TARGETS, "deployment": "gemini-audit", "actor": "e2e"})["ok"]
    # And the stale firing this pair was seen to send, replayed once more to be sure it comes after.
    for alertname in (STOP[0], FREEZE[0]):
        assert stack.post("/webhook", stack.firing_bodies(alertname)[0])[0] == 200
    time.sleep(AFTER_RESOLVE)
    stack.settled()

    replicas = stack.deliveries_by_replica()
    assert len(replicas) == 2 and min(replicas.values()) > 0, f"both replicas should deliver: {replicas}"
    assert stack.fakes.scale_writes("o3-audit-proxy") == [0, 3], "one stop, one restore, no re-stop"
    assert stack.fakes.pause_writes("gemini-audit") == [True, False], "one freeze, one unfreeze, no re-freeze"
    assert len(stack.steps(STOP[0], "remediation")) == 1
    assert len(stack.steps(FREEZE[0], "remediation")) == 1
    assert [i["status"] for i in stack.instances(STOP[0])] == ["resolved"]
    assert stack.metric("responder_stale_alerts_total") >= 2, "the stale firings were seen and ignored"
    report.append(
        f"HA: notifications per replica {dict(replicas)}; scale writes {stack.fakes.scale_writes('o3-audit-proxy')},"
        f" pause writes {stack.fakes.pause_writes('gemini-audit')}"
    )
