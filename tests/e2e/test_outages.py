"""The chain while every dependency misbehaves at once: the Kubernetes API answers 5xx twice,
Slack answers 429 then 500, PagerDuty is unreachable, Twilio takes the first SMS and never
answers. The stop completes when the API recovers, PagerDuty's page falls back to the next
channel, the freeze raised at the same time is not held up, no SMS goes twice, and every
failure shows in /metrics and in the audit API."""

from tests.e2e.processes import wait_for
from tests.e2e.stack import FREEZE, STOP, Stack
from tests.fakes.kube import Fault
from tests.fakes.server import Reply
from tests.fakes.thread import free_port

NOT_BLOCKED = 10.0  # seconds: a freeze raised during the outage still lands this fast


def test_dependency_outages_delay_nothing_but_what_depends_on_them_and_every_failure_is_visible(
    stack: Stack, report: list[str]
) -> None:
    stack.fakes.kube.inject(Fault("PATCH", "o3-audit-proxy", 503, times=2))
    stack.fakes.slack.script += [
        Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}),
        Reply(500, {"ok": False, "error": "internal_error"}),
    ]
    stack.fakes.twilio.script.append(Reply(201, {}, hang=True))
    unreachable = f"https://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    stack.start_responder({"workers.max_attempts": 4}, urls={"pagerduty": unreachable})
    stack.start_alerting()

    changed = stack.trip(STOP)
    stack.trip(FREEZE)
    stack.remediated(FREEZE[0], timeout=NOT_BLOCKED)
    report.append("outages: " + stack.timing(STOP[0], changed).line())
    wait_for(
        "PagerDuty to fail for good",
        lambda: stack.metric("responder_escalation_deliveries_total", channel="pagerduty", outcome="failed") >= 2,
        30,
        0.5,
    )
    stack.settled()

    assert stack.fakes.scale_writes("o3-audit-proxy") == [0]
    (stop,) = stack.steps(STOP[0], "remediation")
    assert [a["status"] for a in stop["attempts"]] == ["retry", "retry", "succeeded"]
    assert stack.metric("responder_steps_total", kind="remediation", action="EMERGENCY_STOP", outcome="retry") == 2

    escalations = stack.steps(STOP[0], "escalation")
    paged = [s for s in escalations if s["name"] == "pagerduty"]
    assert [s["status"] for s in paged] == ["failed"]
    assert all("error" in a["detail"] for a in paged[0]["attempts"])
    fallbacks = [s for s in escalations if s["params"].get("fallback_from") == "pagerduty"]
    assert [s["status"] for s in fallbacks] == ["succeeded"], "PagerDuty's message went to the next channel"

    assert stack.metric("responder_steps_total", kind="escalation", action="slack", outcome="retry") >= 1
    assert len(stack.fakes.slack_parents(STOP[0])) == 1
    assert set(stack.fakes.sms_per_step().values()) == {1}, "the SMS Twilio took but never confirmed was not resent"
    assert stack.metric("responder_steps_total", kind="escalation", action="sms", outcome="retry") >= 1
    assert not [m for m in stack.fakes.twilio.messages if "NOT remediated" in m["body"]], "both were remediated"
