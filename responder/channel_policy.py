"""The `escalation.slack`, `escalation.pagerduty` and `escalation.sms` sections of responder.yaml.

A channel whose credentials are missing is disabled, not fatal: its deliveries go to the
console and the reason is kept as a warning that `serve` logs and `check-config` prints. An
alert that pages nobody because a token file went missing is worse than a noisy console, and
a responder that refuses to start pages nobody at all.

Destinations are routed by team first (the owners know the system), then severity, then a
default; a route is written as `{default: X, severity: {critical: Y}, team: {shop-sre: Z}}`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from responder.secrets import Secret, read_secret, shown_url

T = TypeVar("T")

# Where a missing ${ENV} only disables a channel instead of failing the whole policy.
CHANNEL_SECTIONS = ("escalation.slack", "escalation.pagerduty", "escalation.sms")


@dataclass(frozen=True)
class Route(Generic[T]):
    """A destination per team, per severity, or by default."""

    default: T
    severity: Mapping[str, T] = field(default_factory=dict)
    team: Mapping[str, T] = field(default_factory=dict)

    def pick(self, team: str, severity: str) -> T:
        if team in self.team:
            return self.team[team]
        return self.severity.get(severity, self.default)


@dataclass(frozen=True)
class SlackPolicy:
    bot_token: Secret | None
    signing_secret: Secret | None
    channel: Route[str]
    allowed_users: frozenset[str]
    allowed_groups: tuple[str, ...]
    base_url: str
    messages_per_second: float

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None


@dataclass(frozen=True)
class PagerDutyPolicy:
    routing_key: Route[Secret] | None
    webhook_secret: Secret | None
    base_url: str
    ca_file: str | None
    events_per_minute: float

    @property
    def enabled(self) -> bool:
        return self.routing_key is not None


@dataclass(frozen=True)
class SmsPolicy:
    account_sid: str | None
    auth_token: Secret | None
    sender: str | None
    to: Route[tuple[str, ...]]
    base_url: str
    messages_per_second: float
    timeout_seconds: float

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.sender)


@dataclass(frozen=True)
class Channels:
    slack: SlackPolicy
    pagerduty: PagerDutyPolicy
    sms: SmsPolicy
    warnings: tuple[str, ...] = ()

    def enabled(self) -> dict[str, bool]:
        return {"slack": self.slack.enabled, "pagerduty": self.pagerduty.enabled, "sms": self.sms.enabled}


def _route(raw: Mapping[str, Any] | None, convert: Callable[[Any], T], empty: T) -> Route[T]:
    raw = raw or {}
    return Route(
        default=convert(raw["default"]) if raw.get("default") is not None else empty,
        severity={k: convert(v) for k, v in raw.get("severity", {}).items()},
        team={k: convert(v) for k, v in raw.get("team", {}).items()},
    )


def _credential(raw: Mapping[str, Any], key: str, where: str, warnings: list[str]) -> Secret | None:
    """A credential, or None with the reason in `warnings`; an empty value counts as missing."""
    found: list[str] = []
    secret = read_secret(raw, key, where, found)
    warnings += found
    return secret if secret is not None and secret.value else None


def channels_from(escalation: Mapping[str, Any], notes: list[str]) -> Channels:
    """The channel sections; `notes` are earlier warnings (unset ${ENV}) to keep with them."""
    warnings: list[str] = list(notes)
    slack, pd, sms = (escalation.get(k) or {} for k in ("slack", "pagerduty", "sms"))
    routing = _route(pd.get("routing_key"), lambda v: Secret(str(v)), Secret(""))
    keys = [routing.default, *routing.severity.values(), *routing.team.values()]
    routing_ok = bool(pd) and all(k.value for k in keys) and bool(routing.default.value)
    channels = Channels(
        slack=SlackPolicy(
            bot_token=_credential(slack, "bot_token", "escalation.slack", warnings),
            signing_secret=_credential(slack, "signing_secret", "escalation.slack", warnings),
            channel=_route(slack.get("channel"), str, "#alerts"),
            allowed_users=frozenset(slack.get("allowed_users", [])),
            allowed_groups=tuple(slack.get("allowed_groups", [])),
            base_url=slack.get("base_url", "https://slack.com/api/"),
            messages_per_second=slack.get("messages_per_second", 1.0),
        ),
        pagerduty=PagerDutyPolicy(
            routing_key=routing if routing_ok else None,
            webhook_secret=_credential(pd, "webhook_secret", "escalation.pagerduty", warnings),
            base_url=pd.get("base_url", "https://events.pagerduty.com"),
            ca_file=pd.get("ca_file"),
            events_per_minute=pd.get("events_per_minute", 120.0),
        ),
        sms=SmsPolicy(
            account_sid=sms.get("account_sid") or None,
            auth_token=_credential(sms, "auth_token", "escalation.sms", warnings),
            sender=sms.get("from") or None,
            to=_route(sms.get("to"), lambda v: tuple(str(n) for n in v), ()),
            base_url=sms.get("base_url", "https://api.twilio.com"),
            messages_per_second=sms.get("messages_per_second", 1.0),
            timeout_seconds=sms.get("timeout_seconds", 10.0),
        ),
    )
    missing = {
        "slack": "escalation.slack.bot_token(_file)",
        "pagerduty": "escalation.pagerduty.routing_key.default (and every routing key it names)",
        "sms": "escalation.sms.account_sid, auth_token(_file) and from",
    }
    for name, enabled in channels.enabled().items():
        if not enabled:
            warnings.append(f"{name}: no credentials ({missing[name]}); {name} messages go to the console")
    if channels.slack.enabled and channels.slack.signing_secret is None:
        warnings.append("slack: no signing_secret; messages carry no buttons and /slack/actions answers 404")
    if channels.pagerduty.enabled and channels.pagerduty.webhook_secret is None:
        warnings.append("pagerduty: no webhook_secret; acknowledging in PagerDuty will not stop the ladder")
    return Channels(channels.slack, channels.pagerduty, channels.sms, tuple(warnings))


def describe_channels(channels: Channels) -> list[str]:
    """The channels in words, for `responder check-config`; never a credential."""
    slack, pd, sms = channels.slack, channels.pagerduty, channels.sms
    lines = ["Channels:"]
    if slack.enabled:
        who = sorted(slack.allowed_users) + list(slack.allowed_groups)
        lines.append(
            f"  slack: {shown_url(slack.base_url)}, default channel {slack.channel.default}, "
            f"{len(slack.channel.severity)} per severity, {len(slack.channel.team)} per team; "
            f"Restore/Unfreeze allowed for {', '.join(who) or 'nobody'}"
        )
    if pd.enabled and pd.routing_key is not None:
        keys = 1 + len(pd.routing_key.severity) + len(pd.routing_key.team)
        lines.append(
            f"  pagerduty: {shown_url(pd.base_url)}, {keys} routing key(s), "
            f"at most {pd.events_per_minute:g} events/min per key"
        )
    if sms.enabled:
        lines.append(f"  sms: {shown_url(sms.base_url)} from {sms.sender}, default recipients {len(sms.to.default)}")
    lines += [f"  WARNING {w}" for w in channels.warnings]
    return lines
