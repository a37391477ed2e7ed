"""Planned steps and their keys. Journals on disk hold these keys, and the journal refuses a step
whose key its instance already has: a key that changed form would plan a step a second time."""

from responder.planner import (
    HOOK_KEY,
    acknowledged_key,
    fallback_key,
    hook_step,
    ladder_steps,
    operator_update,
    operator_update_key,
    remediation_failed_key,
    remediation_key,
    remediation_steps,
    resolved_key,
    resolved_steps,
    rung_key,
    thread_update_key,
)
from responder.policy import Rung
from responder.targets import Target
from responder.vocabulary import MessageEvent, StepKind

TARGET = Target("autogen-council", "o3")


def test_every_key_keeps_the_form_journals_on_disk_hold() -> None:
    assert remediation_key("EMERGENCY_STOP", TARGET.key) == "remediation:EMERGENCY_STOP:autogen-council/o3"
    assert remediation_key("UNFREEZE", TARGET.key) == "remediation:UNFREEZE:autogen-council/o3"
    assert HOOK_KEY == "remediation:EMERGENCY_HOOK"
    assert rung_key(MessageEvent.FIRING, 1, "sms") == "escalation:firing:1:sms"
    assert resolved_key("slack") == "escalation:resolved:slack"
    assert remediation_failed_key(42, "pagerduty") == "escalation:remediation_failed:42:pagerduty"
    assert thread_update_key(42) == "escalation:update:42"
    assert operator_update_key("slack:U123", 1_800_000_000.25) == "escalation:update:slack:U123:1800000000.25"
    assert fallback_key(42, "console") == "escalation:fallback:42:console"
    assert acknowledged_key("slack") == "escalation:acknowledged:slack"


def test_a_remediation_step_is_counted_by_its_target() -> None:
    [stop] = remediation_steps("EMERGENCY_STOP", [TARGET], "plan")
    assert (stop.kind, stop.name, stop.delay_seconds, stop.target_key) == (
        "remediation",
        "EMERGENCY_STOP",
        0.0,
        "autogen-council/o3",
    )
    assert stop.params == {"target": {"namespace": "autogen-council", "deployment": "o3"}, "mode": "plan"}
    hook = hook_step([TARGET], "live")
    assert (hook.key, hook.target_key, hook.params["targets"]) == (HOOK_KEY, None, [TARGET.as_dict()])


def test_ladder_steps_wait_for_their_rung_unless_at_once() -> None:
    rungs = (Rung(0.0, ("slack", "pagerduty")), Rung(900.0, ("sms",)))
    later = ladder_steps(rungs, MessageEvent.FIRING, at_once=False)
    assert [(s.name, s.delay_seconds, s.key) for s in later] == [
        ("slack", 0.0, "escalation:firing:0:slack"),
        ("pagerduty", 0.0, "escalation:firing:0:pagerduty"),
        ("sms", 900.0, "escalation:firing:1:sms"),
    ]
    assert all(s.kind == StepKind.ESCALATION and "reason" not in s.params for s in later)
    now = ladder_steps(rungs, MessageEvent.FIRING, at_once=True, reason="refused")
    assert {(s.delay_seconds, s.params["reason"]) for s in now} == {(0.0, "refused")}


def test_a_resolve_says_its_follow_up_only_when_there_is_one() -> None:
    [quiet] = resolved_steps(["slack"], None)
    assert quiet.params == {"event": "resolved"}
    [told] = resolved_steps(["sms"], "run `responder restore` when safe")
    assert told.params == {"event": "resolved", "follow_up": "run `responder restore` when safe"}


def test_an_operator_update_names_who_pressed_what() -> None:
    update = operator_update("slack", "slack:U123", "U123", "pressed Restore:\ndone", 1_800_000_000.0)
    assert (update.kind, update.name, update.key) == (
        "escalation",
        "slack",
        "escalation:update:slack:U123:1800000000.0",
    )
    assert update.params == {"event": "update", "text": "pressed Restore:\ndone", "by": "U123"}
