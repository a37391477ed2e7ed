"""The issue's acceptance path against the three fakes, through the real client libraries."""

from collections.abc import Callable
from typing import Any

from tests.conftest import cost_alert
from tests.fakes.channels import ONCALL
from tests.unit.escalation.conftest import Fakes, critical


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Everything a person reads in a message's blocks, as one string."""
    out = []
    for block in blocks:
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(part, dict):
                out.append(
                    part.get("text") if isinstance(part.get("text"), str) else part.get("text", {}).get("text", "")
                )
    return "\n".join(str(t) for t in out)


async def test_an_emergency_stop_posts_one_slack_message_pages_once_and_texts(
    fakes: Fakes, start: Callable[..., Any]
) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    await harness.later(10)  # the remediation's thread update waits for the parent message
    [parent] = fakes.slack.parents()
    assert parent.channel == fakes.slack.channel_id("#incidents")
    text = _texts(parent.blocks)
    assert "CRITICAL · CostBudgetExceeded" in text
    assert "Daily cost budget exceeded" in text
    assert "EMERGENCY_STOP: scale the targets to zero" in text
    assert "autogen-council/o3-audit-proxy" in text
    assert "<https://runbooks.example.com/alert-responder/builder_hardening.md#costbudgetexceeded|Runbook>" in text
    buttons = [e["action_id"] for b in parent.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["ack", "restore"]
    thread = [m.text for m in fakes.slack.thread(parent.ts)]
    assert any(t.startswith("EMERGENCY_STOP on autogen-council/o3-audit-proxy: succeeded (plan mode") for t in thread)
    assert any("Escalated (rung 0): pagerduty: triggered incident ar-4f1c2a9e8d7b6c5a-" in t for t in thread)
    assert any("Escalated (rung 0): sms: texted 1 number(s)" in t for t in thread)
    [trigger] = fakes.pagerduty.events
    assert trigger["event_action"] == "trigger" and trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["custom_details"]["targets"] == ["autogen-council/o3-audit-proxy"]
    assert trigger["links"][0]["text"] == "Runbook"
    [sms] = fakes.twilio.messages
    assert sms["to"] == ONCALL
    assert sms["body"].startswith("[CRITICAL] CostBudgetExceeded: Daily cost budget exceeded. Action: EMERGENCY_STOP.")


async def test_a_resolve_edits_the_message_and_resolves_the_incident(fakes: Fakes, start: Callable[..., Any]) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    await harness.later(10)
    await harness.deliver(cost_alert("resolved"), status="resolved")
    [parent] = fakes.slack.parents()
    assert "Resolved" in _texts(parent.blocks)
    buttons = [e["action_id"] for b in parent.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["restore"], "Acknowledge goes; Restore stays until a human restores"
    resolved = [m.text for m in fakes.slack.thread(parent.ts) if "Resolved." in m.text]
    assert resolved and "there is nothing to restore" in resolved[0], "plan mode stopped nothing"
    assert [e["event_action"] for e in fakes.pagerduty.events] == ["trigger", "resolve"]
    assert fakes.pagerduty.incidents == {fakes.pagerduty.events[0]["dedup_key"]: "resolved"}
    assert [m["body"].split("]")[0] for m in fakes.twilio.messages] == ["[CRITICAL", "RESOLVED [CRITICAL"]


async def test_content_from_labels_cannot_mention_everyone_or_forge_links(
    fakes: Fakes, start: Callable[..., Any]
) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(critical(summary="<!channel> click <https://evil.example|here>"))
    [parent] = fakes.slack.parents()
    assert "&lt;!channel&gt; click &lt;https://evil.example|here&gt;" in _texts(parent.blocks)
    assert "<!channel>" not in _texts(parent.blocks)
