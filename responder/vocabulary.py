"""The words the responder's parts share, each vocabulary defined once as a type.

Every value is the exact string the journal stores or a metric exposes as a label; a member is
a `str` and compares equal to that string, so a value read back from the journal needs no
conversion. The collections at the end are plain strings: the policy's tables and the generated
manifests are keyed by them.
"""

from enum import StrEnum


class Action(StrEnum):
    """What a decision or a remediation step is called: the actions an alert may ask for, the
    steps that serve them (EMERGENCY_HOOK, UNFREEZE), and NOTIFY_ONLY when none applies."""

    EMERGENCY_STOP = "EMERGENCY_STOP"
    EMERGENCY_HOOK = "EMERGENCY_HOOK"
    FREEZE_DEPLOYMENTS = "FREEZE_DEPLOYMENTS"
    INVESTIGATE = "INVESTIGATE"
    UNFREEZE = "UNFREEZE"
    NOTIFY_ONLY = "NOTIFY_ONLY"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class StepKind(StrEnum):
    """The two worker pools; in the order a claim serves them."""

    REMEDIATION = "remediation"
    ESCALATION = "escalation"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptOutcome(StrEnum):
    """How one attempt at a step ended: for good, a transient failure to retry, or cut short by
    a restart or a lease that ran out, with nothing known of its effect (the next attempt finds
    out; each side effect is safe to run again, see docs/security.md)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"
    INTERRUPTED = "interrupted"


class TimelineEvent(StrEnum):
    """What an alert instance's timeline records beside its steps."""

    FIRING = "firing"
    RESOLVED = "resolved"
    RESOLVED_UNSEEN = "resolved_unseen"
    STALE_FIRING_IGNORED = "stale_firing_ignored"
    ACKNOWLEDGED = "acknowledged"
    OPERATOR_ACTION = "operator_action"
    OPERATOR_ACTION_REFUSED = "operator_action_refused"
    FOUND_BY_RECONCILIATION = "found_by_reconciliation"  # Alertmanager reported it; no notification came
    RESOLVED_BY_RECONCILIATION = "resolved_by_reconciliation"  # Alertmanager stopped reporting it


class Reconciled(StrEnum):
    """What reconciliation with Alertmanager did to an alert instance the push path missed."""

    FIRING = "firing"  # ingested: Alertmanager reported it firing and no notification came
    RESOLVED = "resolved"  # resolved: Alertmanager stopped reporting it and no resolve came


class Reading(StrEnum):
    """How one reconciliation round read Alertmanager."""

    READ = "read"  # every Alertmanager answered
    PARTIAL = "partial"  # some answered: missed firings are ingested, nothing is resolved
    UNREACHABLE = "unreachable"  # none answered


class MessageEvent(StrEnum):
    """What an escalation step tells its channel (its `event` parameter)."""

    FIRING = "firing"
    RESOLVED = "resolved"
    REMEDIATION_FAILED = "remediation_failed"
    UPDATE = "update"
    ACKNOWLEDGED = "acknowledged"


class Guard(StrEnum):
    """Why a remediation was refused; all but RBAC are decided before it is planned."""

    DISABLED = "disabled"
    NO_TARGET = "no_target"
    MAX_TARGETS = "max_targets"
    PROTECTED_NAMESPACE = "protected_namespace"
    ALLOW_LIST = "allow_list"
    COOLDOWN = "cooldown"
    CIRCUIT_BREAKER = "circuit_breaker"
    RBAC = "rbac"


class Channel(StrEnum):
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    SMS = "sms"
    CONSOLE = "console"
    SILENCE = "silence"  # Alertmanager's silences: not a ladder channel; planned on ack, expired on resolve


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


class NotificationOutcome(StrEnum):
    """How the webhook answered a notification."""

    ACCEPTED = "accepted"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"  # the body did not arrive in time (503 and Retry-After)
    FULL = "full"  # the journal's disk is below its free-space reserve (503 and Retry-After)
    FAILED = "failed"


class HoldState(StrEnum):
    """A hold an action puts on a deployment: frozen, or stopped at zero until restored."""

    FROZEN = "frozen"
    STOPPED = "stopped"


class AckSource(StrEnum):
    """Where an alert was acknowledged."""

    API = "api"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    CONSOLE = "console"


class Undo(StrEnum):
    """What a person may undo of an action: restore what a stop scaled to zero, unfreeze what a
    freeze paused."""

    RESTORE = "restore"
    UNFREEZE = "unfreeze"


# The actions an alert's `action` annotation may ask for; the policy configures each.
ACTIONS: tuple[str, ...] = (Action.EMERGENCY_STOP.value, Action.FREEZE_DEPLOYMENTS.value, Action.INVESTIGATE.value)
MUTATING: frozenset[str] = frozenset({Action.EMERGENCY_STOP.value, Action.FREEZE_DEPLOYMENTS.value})
# Remediations a resolve plans: they act after the resolve by design, and keep their retries.
ON_RESOLVE: frozenset[str] = frozenset({Action.UNFREEZE.value})
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
