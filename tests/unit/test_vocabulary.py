"""The vocabularies' values are stored in journals and exposed as metric labels: they never change."""

from responder.vocabulary import (
    ACTIONS,
    MUTATING,
    ON_RESOLVE,
    SEVERITIES,
    AckSource,
    Action,
    AttemptOutcome,
    Channel,
    DeliveryOutcome,
    Guard,
    HoldState,
    MessageEvent,
    NotificationOutcome,
    StepKind,
    StepStatus,
    TimelineEvent,
)


def test_every_value_is_the_string_journals_and_dashboards_already_hold() -> None:
    assert list(StepKind) == ["remediation", "escalation"]
    assert list(StepStatus) == ["pending", "running", "succeeded", "failed", "cancelled"]
    assert list(AttemptOutcome) == ["succeeded", "failed", "retry", "interrupted"]
    assert list(Action) == [
        "EMERGENCY_STOP",
        "EMERGENCY_HOOK",
        "FREEZE_DEPLOYMENTS",
        "INVESTIGATE",
        "UNFREEZE",
        "NOTIFY_ONLY",
    ]
    assert list(TimelineEvent) == [
        "firing",
        "resolved",
        "resolved_unseen",
        "stale_firing_ignored",
        "acknowledged",
        "operator_action",
        "operator_action_refused",
        "found_by_reconciliation",
        "resolved_by_reconciliation",
    ]
    assert list(MessageEvent) == ["firing", "resolved", "remediation_failed", "update", "acknowledged"]
    assert list(Guard) == [
        "disabled",
        "no_target",
        "max_targets",
        "protected_namespace",
        "allow_list",
        "cooldown",
        "circuit_breaker",
        "rbac",
    ]
    assert list(Channel) == ["slack", "pagerduty", "sms", "console", "silence"]
    assert list(DeliveryOutcome) == ["delivered", "failed"]
    assert list(NotificationOutcome) == [
        "accepted",
        "unauthorized",
        "invalid",
        "too_large",
        "unsupported_media_type",
        "overloaded",
        "timeout",
        "full",
        "failed",
    ]
    assert list(HoldState) == ["frozen", "stopped"]
    assert list(AckSource) == ["api", "slack", "pagerduty", "console"]


def test_a_member_finds_and_is_found_by_the_string_read_back_from_the_journal() -> None:
    by_kind: dict[str, int] = {StepKind.REMEDIATION: 1}
    assert by_kind["remediation"] == 1
    assert {"remediation": 1}[StepKind.REMEDIATION] == 1
    assert f"{StepKind.ESCALATION}:{Channel.SMS}" == "escalation:sms"


def test_the_collections_the_policy_and_manifests_are_keyed_by_are_plain_strings() -> None:
    """The generated manifests are YAML, which has no representation for an enum member."""
    assert ACTIONS == ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE")
    assert sorted(MUTATING) == ["EMERGENCY_STOP", "FREEZE_DEPLOYMENTS"]
    assert sorted(ON_RESOLVE) == ["UNFREEZE"]
    assert SEVERITIES == ("critical", "warning", "info")
    for value in (*ACTIONS, *MUTATING, *ON_RESOLVE, *SEVERITIES):
        assert type(value) is str, value
