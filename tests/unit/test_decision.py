from collections.abc import Callable

from responder.alerts import Alert
from responder.decision import NOTIFY_ONLY, Decision, GuardState, decide_firing, decide_resolved, targets_of
from responder.planner import PlannedStep
from responder.policy import Policy
from responder.targets import Target
from responder.vocabulary import ON_RESOLVE

NOW = 1_800_000_000.0


def alert(action: str = "EMERGENCY_STOP", severity: str = "critical", **annotations: str) -> Alert:
    base = {"action": action, "summary": "s", "target_namespace": "autogen-council", "target_deployment": "o3"}
    base.update(annotations)
    labels = {"alertname": "X", "severity": severity, "namespace": "from-labels", "deployment": "evil"}
    return Alert("fp", "2026-11-23T13:00:00.000000Z", "firing", labels, {k: v for k, v in base.items() if v})


def firing(the_alert: Alert, policy: Policy, guards: GuardState | None = None) -> Decision:
    """As ingest decides: the alert's targets worked out first, the guards read for them."""
    return decide_firing(the_alert, targets_of(the_alert, policy), policy, guards or GuardState(), NOW)


def kinds(decision_steps: tuple[PlannedStep, ...]) -> list[str]:
    return [f"{s.kind}:{s.name}+{s.delay_seconds:g}" for s in decision_steps]


def test_emergency_stop_plans_one_stop_and_pages_every_channel_at_once(make_policy: Callable[..., Policy]) -> None:
    decision = firing(alert(), make_policy())
    assert decision.refusals == ()
    assert kinds(decision.steps) == [
        "remediation:EMERGENCY_STOP+0",
        "escalation:slack+0",
        "escalation:pagerduty+0",
        "escalation:sms+0",
    ]
    assert decision.steps[0].params == {"target": {"namespace": "autogen-council", "deployment": "o3"}, "mode": "plan"}


def test_warning_ladder_waits_an_hour_before_pagerduty(make_policy: Callable[..., Policy]) -> None:
    decision = firing(alert("INVESTIGATE", "warning"), make_policy())
    assert kinds(decision.steps) == ["remediation:INVESTIGATE+0", "escalation:slack+0", "escalation:pagerduty+3600"]


def test_missing_or_unknown_action_notifies_only(make_policy: Callable[..., Policy]) -> None:
    for action in ("", "Halt autonomy enactments immediately"):
        decision = firing(alert(action, "info"), make_policy())
        assert decision.action == NOTIFY_ONLY
        assert kinds(decision.steps) == ["escalation:slack+0"]


def test_targets_never_come_from_labels_unless_the_policy_allows(make_policy: Callable[..., Policy]) -> None:
    no_target = alert(target_namespace="", target_deployment="")
    refused = firing(no_target, make_policy())
    assert [r.guard for r in refused.refusals] == ["no_target"]
    allowed = make_policy({"actions.EMERGENCY_STOP.label_targets": True})
    planned = firing(no_target, allowed)
    assert planned.steps[0].params["target"] == {"namespace": "from-labels", "deployment": "evil"}


def test_each_guard_refuses_with_a_reason_and_escalates_at_once(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        {"actions.EMERGENCY_STOP.allowed_namespaces": ["autogen-*", "kube-system"], "circuit_breaker.max_mutations": 3}
    )
    cases = {
        "protected_namespace": (alert(target_namespace="kube-system"), GuardState()),
        "allow_list": (alert(target_namespace="payments"), GuardState()),
        "cooldown": (alert(), GuardState(last_mutation_at={"autogen-council/o3": NOW - 60})),
        "circuit_breaker": (alert(), GuardState(mutations_in_window=3)),
    }
    for guard, (the_alert, state) in cases.items():
        decision = firing(the_alert, policy, state)
        assert [r.guard for r in decision.refusals] == [guard], guard
        assert decision.refusals[0].reason
        assert all(s.kind == "escalation" and s.delay_seconds == 0 for s in decision.steps), guard


def test_the_breaker_says_how_many_deployment_changes_filled_it(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy({"circuit_breaker.max_mutations": 3})
    [refusal] = firing(alert(), policy, GuardState(mutations_in_window=3)).refusals
    assert "3 deployment change(s), made or planned, in the last 600s" in refusal.reason
    assert "max_mutations 3" in refusal.reason


def test_cooldown_has_passed_after_its_window(make_policy: Callable[..., Policy]) -> None:
    state = GuardState(last_mutation_at={"autogen-council/o3": NOW - 1801})
    assert firing(alert(), make_policy(), state).refusals == ()


def test_investigate_is_not_limited_by_cooldown_or_breaker(make_policy: Callable[..., Policy]) -> None:
    state = GuardState(mutations_in_window=99, last_mutation_at={"autogen-council/o3": NOW})
    decision = firing(alert("INVESTIGATE"), make_policy(), state)
    assert decision.refusals == ()


def test_a_disabled_action_is_reported_not_silently_skipped(make_policy: Callable[..., Policy]) -> None:
    decision = firing(alert(), make_policy({"actions.EMERGENCY_STOP.mode": "disabled"}))
    assert [r.guard for r in decision.refusals] == ["disabled"]
    assert not [s for s in decision.steps if s.kind == "remediation"]


def test_resolve_tells_whoever_was_told_and_restores_nothing(make_policy: Callable[..., Policy]) -> None:
    decision = decide_resolved("EMERGENCY_STOP", make_policy(), frozenset({"slack", "sms"}), [], 0, stopped=True)
    assert kinds(decision.steps) == ["escalation:slack+0", "escalation:sms+0"]
    assert "run `responder restore`" in decision.steps[0].params["follow_up"]


def test_a_resolve_after_a_stop_that_held_nothing_does_not_ask_for_a_restore(
    make_policy: Callable[..., Policy],
) -> None:
    """A stop refused (no_target, a guard), failed or only planned stopped nothing."""
    [step] = decide_resolved("EMERGENCY_STOP", make_policy(), frozenset({"slack"}), [], 0).steps
    assert step.params["follow_up"] == (
        "EMERGENCY_STOP changed nothing for this alert (refused, failed or not live); there is nothing to restore"
    )
    [step] = decide_resolved("FREEZE_DEPLOYMENTS", make_policy(), frozenset({"slack"}), [], 0).steps
    assert step.params["follow_up"].endswith("there is nothing to unfreeze")


def test_resolve_says_when_a_remediation_was_cancelled_before_it_ran(make_policy: Callable[..., Policy]) -> None:
    decision = decide_resolved("EMERGENCY_STOP", make_policy(), frozenset({"slack"}), [], 1)
    assert decision.steps[0].params["follow_up"].startswith("1 remediation step(s) had not run yet and were cancelled")


def test_resolve_unfreezes_only_what_this_alert_froze_and_only_if_policy_says(
    make_policy: Callable[..., Policy],
) -> None:
    frozen = [Target("autogen-council", "o3")]
    kept = decide_resolved("FREEZE_DEPLOYMENTS", make_policy(), frozenset({"slack"}), frozen, 0)
    assert [s.name for s in kept.steps] == ["slack"]
    assert "safe to run `responder unfreeze`" in kept.steps[0].params["follow_up"]
    policy = make_policy({"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True})
    undone = decide_resolved("FREEZE_DEPLOYMENTS", policy, frozenset({"slack"}), frozen, 0)
    assert [s.name for s in undone.steps] == ["UNFREEZE", "slack"]
    assert {s.name for s in undone.steps if s.kind == "remediation"} <= ON_RESOLVE, "it keeps its retries"
    refused_freeze = decide_resolved("FREEZE_DEPLOYMENTS", policy, frozenset({"slack"}), [], 0)
    assert [s.name for s in refused_freeze.steps] == ["slack"], "nothing was frozen, so nothing to unfreeze"


def test_a_resolve_during_a_freeze_says_what_becomes_of_it(make_policy: Callable[..., Policy]) -> None:
    """Nothing is frozen yet while the freeze runs: "safe to run unfreeze" would be untrue (the
    freeze would freeze again after it) and, where the policy unfreezes, so would "stay frozen"."""
    kept = decide_resolved("FREEZE_DEPLOYMENTS", make_policy(), frozenset({"slack"}), [], 0, freezing=True)
    assert kept.steps[0].params["follow_up"] == (
        "the freeze is still running and what it freezes stays frozen; run `responder unfreeze` once it has finished"
    )
    policy = make_policy({"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True})
    lifted = decide_resolved("FREEZE_DEPLOYMENTS", policy, frozenset({"slack"}), [], 0, freezing=True)
    assert [s.name for s in lifted.steps] == ["slack"], "the freeze's own outcome plans the unfreeze"
    assert lifted.steps[0].params["follow_up"] == (
        "deployments are being unfrozen, as the policy says; the freeze still running is lifted once it finishes"
    )


def test_a_refusal_reason_reaches_the_people_paged(make_policy: Callable[..., Policy]) -> None:
    decision = firing(alert(target_namespace="kube-system"), make_policy())
    reasons = {s.params.get("reason") for s in decision.steps}
    assert reasons == {"EMERGENCY_STOP refused (protected_namespace): kube-system is a protected namespace"}
