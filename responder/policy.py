"""responder.yaml: what the responder may do, to what, and whom it tells.

`${NAME}` anywhere in a string is replaced by the environment variable's value; credentials
are read and wrapped by `responder.secrets`, and compared in constant time by the web layer.
"""

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from responder import schemas
from responder.alertmanager_policy import AlertmanagerPolicy, alertmanager_from, describe_alertmanager
from responder.channel_policy import CHANNEL_SECTIONS, Channels, channels_from, describe_channels
from responder.durations import parse_duration
from responder.journal_policy import JournalSettings, describe_journal, journal_from
from responder.secrets import Secret, expand_env, read_secret, secret_values, shown_url, url_problem
from responder.vocabulary import ACTIONS, SEVERITIES
from responder.yamlio import YamlError, load_yaml

DEFAULT_SOURCE = "embedded default policy"
_SERVE_CREDENTIALS = ("auth", "journal.postgresql")  # needed to serve, not to look at a policy

_DEFAULT: dict[str, Any] = yaml.safe_load(Path(__file__).with_name("default_policy.yaml").read_text("utf-8"))
_MODE_WORDS = {
    "disabled": "disabled: never runs",
    "plan": "plan: records exactly what it would do, changes nothing",
    "server": "server dry-run: sent to the API with dryRun=All, changes nothing",
    "live": "LIVE: changes the cluster",
}


class PolicyError(schemas.ProblemsError):
    """responder.yaml cannot be used; `problems` lists every reason with the key it concerns."""

    headline = "responder.yaml has errors:"


@dataclass(frozen=True)
class Hook:
    """An HTTP endpoint told about an emergency stop (the seeds' autoscaler `POST /emergency_stop`)."""

    url: str
    timeout_seconds: float
    bearer_token: Secret | None


@dataclass(frozen=True)
class ActionPolicy:
    mode: str
    allowed_namespaces: tuple[str, ...]
    max_targets: int
    cooldown_seconds: float
    label_targets: bool
    unfreeze_on_resolve: bool
    hook: Hook | None = None  # EMERGENCY_STOP only
    log_lines: int = 50  # INVESTIGATE: lines per failing container
    evidence_bytes: int = 16384  # INVESTIGATE: bound on everything collected for one target


@dataclass(frozen=True)
class KubeSettings:
    """How to reach the cluster: in-cluster service account, a kubeconfig, or an explicit host."""

    in_cluster: bool
    kubeconfig: Path | None
    context: str | None
    host: str | None
    token: Secret | None
    ca_file: Path | None
    insecure_skip_tls_verify: bool
    timeout_seconds: float


@dataclass(frozen=True)
class Rung:
    after_seconds: float
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    source: str
    host: str
    port: int
    namespace: str
    max_body_bytes: int
    max_backlog: int
    bearer_token: Secret | None
    basic_username: str | None
    basic_password: Secret | None
    journal_path: Path  # the SQLite journal, unless journal_dsn is set
    retention_seconds: float
    journal_wal_max: int  # bytes: the WAL's bound
    journal_reserve: int  # bytes kept free on the journal's disk; below, notifications get 503
    protected_namespaces: frozenset[str]
    breaker_max_mutations: int
    breaker_window_seconds: float
    actions: Mapping[str, ActionPolicy]
    ladders: Mapping[str, tuple[Rung, ...]]  # critical, warning, info, emergency_stop
    remediation_workers: int
    escalation_workers: int
    max_attempts: int
    step_timeout_seconds: float
    lease_seconds: float  # how long a claimed step is its process's; see workers.lease
    channels: Channels
    kubernetes: KubeSettings | None = None
    alertmanager: AlertmanagerPolicy | None = None  # reconciliation; see responder.reconcile
    journal_dsn: Secret | None = None  # journal.postgresql: the shared journal of several replicas
    # Loaded offline: why the webhook's own credentials (auth) could not be read; serve needs them.
    unread_secrets: tuple[str, ...] = ()

    @property
    def authenticated(self) -> bool:
        return self.bearer_token is not None or self.basic_password is not None

    def logged_secrets(self) -> list[str]:
        """Every secret the policy holds, and basic auth's credentials in the form a request
        carries them (base64 of user:password), for the logs' scrubber: aiohttp may log a header's
        value without its name."""
        found = secret_values(self)
        if self.basic_password is not None:
            sent = f"{self.basic_username or ''}:{self.basic_password.value}".encode()
            found.append(base64.b64encode(sent).decode())
        return found

    def ladder_for(self, severity: str, action: str) -> tuple[Rung, ...]:
        """Whom to tell, when: EMERGENCY_STOP tells everyone at once; otherwise by severity."""
        if action == "EMERGENCY_STOP":
            return self.ladders["emergency_stop"]
        return self.ladders.get(severity, self.ladders["warning"])

    def journal_settings(self) -> JournalSettings:
        return JournalSettings(
            self.journal_path, self.journal_dsn, self.retention_seconds, self.journal_wal_max, self.journal_reserve
        )


_ONLY_FOR = {
    "hook": "EMERGENCY_STOP",
    "unfreeze_on_resolve": "FREEZE_DEPLOYMENTS",
    "log_lines": "INVESTIGATE",
    "evidence_bytes": "INVESTIGATE",
}


def _url_problems(document: Mapping[str, Any]) -> list[str]:
    """Every URL of the policy that a client would misread (`url_problem`), by where it is."""
    urls = [(f"actions.{n}.hook.url", (a.get("hook") or {}).get("url")) for n, a in document["actions"].items()]
    channels = document.get("escalation") or {}
    urls += [
        (f"escalation.{c}.base_url", (channels.get(c) or {}).get("base_url")) for c in ("slack", "pagerduty", "sms")
    ]
    urls += [(f"alertmanager.urls[{i}]", u) for i, u in enumerate((document.get("alertmanager") or {}).get("urls", []))]
    urls.append(("kubernetes.host", (document.get("kubernetes") or {}).get("host")))
    return [f"{where}: {problem}" for where, url in urls if url and (problem := url_problem(url))]


def _action(name: str, raw: Mapping[str, Any], problems: list[str]) -> ActionPolicy:
    for key, owner in _ONLY_FOR.items():
        if key in raw and name != owner:
            problems.append(f"actions.{name}.{key}: only {owner} has {key}; remove it here")
    hook = raw.get("hook")
    return ActionPolicy(
        mode=raw["mode"],
        allowed_namespaces=tuple(raw.get("allowed_namespaces", [])),
        max_targets=raw.get("max_targets", 5),
        cooldown_seconds=parse_duration(raw.get("cooldown", "0s")),
        label_targets=raw.get("label_targets", False),
        unfreeze_on_resolve=raw.get("unfreeze_on_resolve", False),
        hook=Hook(
            hook["url"],
            parse_duration(hook.get("timeout", "5s")),
            read_secret(hook, "bearer_token", f"actions.{name}.hook", problems),
        )
        if hook
        else None,
        log_lines=raw.get("log_lines", 50),
        evidence_bytes=raw.get("evidence_bytes", 16384),
    )


def _kubernetes(raw: Mapping[str, Any] | None, problems: list[str]) -> KubeSettings | None:
    if raw is None:
        return None
    ways = [k for k in ("in_cluster", "kubeconfig", "host") if raw.get(k)]
    if len(ways) != 1:
        problems.append("kubernetes: give exactly one of in_cluster: true, kubeconfig: PATH or host: URL")
    return KubeSettings(
        in_cluster=bool(raw.get("in_cluster")),
        kubeconfig=Path(raw["kubeconfig"]) if raw.get("kubeconfig") else None,
        context=raw.get("context"),
        host=raw.get("host"),
        token=read_secret(raw, "token", "kubernetes", problems),
        ca_file=Path(raw["ca_file"]) if raw.get("ca_file") else None,
        insecure_skip_tls_verify=raw.get("insecure_skip_tls_verify", False),
        timeout_seconds=parse_duration(raw.get("timeout", "10s")),
    )


def _ladder(raw: list[dict[str, Any]]) -> tuple[Rung, ...]:
    rungs = (Rung(parse_duration(r["after"]), tuple(r["channels"])) for r in raw)
    return tuple(sorted(rungs, key=lambda r: r.after_seconds))


def _build(document: dict[str, Any], source: str, problems: list[str], soft: list[str], unread: list[str]) -> Policy:
    """The policy; `unread` collects what is wrong with the auth section's credentials (which
    the caller may take as problems, or as notes for a command that does not serve)."""
    # No auth section means no credentials, as an empty one does: `serve` then refuses to start
    # unless told --insecure-no-auth.
    server, auth, journal = document["server"], document.get("auth", {}), document["journal"]
    basic = auth.get("basic")
    host, port = server["listen"].rsplit(":", 1)
    # Optional sections default to the embedded policy's, so each default is written once. Actions
    # are the exception: one left out is disabled, never inherited with the default's "*" namespaces.
    actions = {name: _action(name, document["actions"].get(name, {"mode": "disabled"}), problems) for name in ACTIONS}
    problems += _url_problems(document)
    problems += [
        f"actions.{name}.mode: {a.mode} needs a cluster; add a kubernetes: section "
        "(in_cluster: true, kubeconfig: PATH or host: URL), or use mode: plan"
        for name, a in actions.items()
        if a.mode in ("server", "live") and "kubernetes" not in document
    ]
    ladders = {sev: _ladder(document["escalation"]["ladders"][sev]) for sev in SEVERITIES}
    ladders["emergency_stop"] = _ladder(
        document["escalation"].get("emergency_stop", _DEFAULT["escalation"]["emergency_stop"])
    )
    breaker = document.get("circuit_breaker", _DEFAULT["circuit_breaker"])
    workers = {**_DEFAULT["workers"], **document.get("workers", {})}
    if parse_duration(workers["lease"]) < 2 * parse_duration(workers["step_timeout"]):
        problems.append(
            f"workers.lease ({workers['lease']}) is shorter than twice workers.step_timeout "
            f"({workers['step_timeout']}): a step still running could be claimed again by another replica; "
            "set lease to at least twice step_timeout"
        )
    protected = set(document.get("protected_namespaces", _DEFAULT["protected_namespaces"]))
    server = {**_DEFAULT["server"], **server}
    journal = journal_from(journal, _DEFAULT["journal"], problems, unread)
    return Policy(
        source=source,
        host=host,
        port=int(port),
        namespace=server["namespace"],
        max_body_bytes=server["max_body_bytes"],
        max_backlog=server["max_backlog"],
        bearer_token=read_secret(auth, "bearer_token", "auth", unread),
        basic_username=basic["username"] if basic else None,
        basic_password=read_secret(basic, "password", "auth.basic", unread) if basic else None,
        journal_path=journal.path,
        retention_seconds=journal.retention_seconds,
        journal_wal_max=journal.wal_max,
        journal_reserve=journal.reserve,
        protected_namespaces=frozenset(protected | {server["namespace"]}),
        breaker_max_mutations=breaker["max_mutations"],
        breaker_window_seconds=parse_duration(breaker["window"]),
        actions=actions,
        ladders=ladders,
        remediation_workers=workers["remediation"],
        escalation_workers=workers["escalation"],
        max_attempts=workers["max_attempts"],
        step_timeout_seconds=parse_duration(workers["step_timeout"]),
        lease_seconds=parse_duration(workers["lease"]),
        channels=channels_from(document["escalation"], soft),
        kubernetes=_kubernetes(document.get("kubernetes"), problems),
        alertmanager=alertmanager_from(document.get("alertmanager"), problems),
        journal_dsn=journal.dsn,
        unread_secrets=tuple(unread),
    )


def load_policy(path: Path | None, env: Mapping[str, str] | None = None, offline: bool = False) -> Policy:
    """The policy at `path`, or the embedded default; PolicyError lists every problem.

    `offline` is for commands that never serve (check-config, replay): the credentials callers
    must present (the auth section) are then not needed, and what keeps them from being read is
    kept in `unread_secrets` instead of failing the load. A fresh clone has no token yet.
    """
    env = os.environ if env is None else env
    text: str | None = None  # the file's text, for the line numbers of schema problems
    if path is None:
        raw, source = _DEFAULT, DEFAULT_SOURCE
    else:
        try:
            raw, source = load_yaml(path), str(path)
            text = path.read_text("utf-8")
        except YamlError as exc:
            raise PolicyError([str(exc)], f"{path} has errors:") from exc
    problems: list[str] = []
    soft: list[str] = []
    unread: list[str] = []
    document = expand_env(raw, env, CHANNEL_SECTIONS, problems, soft)
    if offline:  # an unset ${VAR} in auth or the DSN is one more credential serve needs, not a problem here
        unread += [p for p in problems if p.startswith(_SERVE_CREDENTIALS)]
        problems = [p for p in problems if not p.startswith(_SERVE_CREDENTIALS)]
    problems += schemas.problems(document, Path(__file__).with_name("policy.schema.json"), Path(source), text)
    if problems:
        raise PolicyError(problems, f"{source} has errors:")
    policy = _build(document, source, problems, soft, unread)
    if not offline:
        problems += policy.unread_secrets
    if problems:
        raise PolicyError(problems, f"{source} has errors:")
    return policy


def _rungs_in_words(rungs: tuple[Rung, ...]) -> str:
    parts = []
    for rung in rungs:
        when = "at once" if rung.after_seconds == 0 else f"after {rung.after_seconds / 60:g}m unless acknowledged"
        parts.append(f"{', '.join(rung.channels)} {when}")
    return "; ".join(parts)


def _cluster_in_words(kube: KubeSettings | None) -> str:
    if kube is None:
        return "none configured (every action must be plan or disabled)"
    if kube.in_cluster:
        return "in-cluster service account"
    if kube.kubeconfig is not None:
        return f"kubeconfig {kube.kubeconfig}" + (f", context {kube.context}" if kube.context else "")
    return f"{shown_url(kube.host or '')}" + (" with a bearer token" if kube.token else "")


def describe(policy: Policy) -> list[str]:
    """The effective plan per action and severity, in words, for `responder check-config`."""
    auth = []
    if policy.bearer_token:
        auth.append("bearer token")
    if policy.basic_password:
        auth.append(f"basic auth as {policy.basic_username}")
    lines = [
        f"Policy: {policy.source}",
        f"Webhook: POST http://{policy.host}:{policy.port}/webhook "
        f"({' or '.join(auth) if auth else 'NO AUTHENTICATION'})",
        describe_journal(policy.journal_settings()),
        f"Protected namespaces: {', '.join(sorted(policy.protected_namespaces))}",
        f"Circuit breaker: at most {policy.breaker_max_mutations} deployment changes "
        f"per {policy.breaker_window_seconds / 60:g}m (a selector counts each deployment it changes)",
        f"Cluster: {_cluster_in_words(policy.kubernetes)}",
        f"Steps: {policy.remediation_workers} remediation and {policy.escalation_workers} escalation workers; "
        f"each step tried at most {policy.max_attempts} times, one with no answer after "
        f"{policy.step_timeout_seconds:g}s retried; a claimed step is leased for {policy.lease_seconds:g}s "
        "(with several replicas, a dead replica's steps are taken over when it runs out)",
        *describe_alertmanager(policy.alertmanager),
    ]
    for name in ACTIONS:
        action = policy.actions[name]
        lines += ["", f"{name} ({_MODE_WORDS[action.mode]})"]
        if action.mode == "live":
            lines.append(
                f"  WARNING: {name} is live: the first matching alert changes the cluster; set its mode to "
                "server to watch what it would do first"
            )
        source = "rule annotations" + (" or alert labels" if action.label_targets else " only")
        cooldown = f"{action.cooldown_seconds / 60:g}m" if action.cooldown_seconds else "none"
        lines.append(
            f"  targets from {source}; namespaces {', '.join(action.allowed_namespaces) or 'none'}; "
            f"at most {action.max_targets} per alert; cooldown per target {cooldown}"
        )
        if name == "FREEZE_DEPLOYMENTS":
            lines.append(
                "  on resolve: "
                + ("unfreezes" if action.unfreeze_on_resolve else "tells humans it is safe to unfreeze")
            )
        if name == "EMERGENCY_STOP":
            if action.hook is not None:
                lines.append(f"  also calls the emergency hook {shown_url(action.hook.url)}")
            lines.append(f"  every severity: {_rungs_in_words(policy.ladder_for('critical', name))}")
            lines.append("  on resolve: nothing automatic; a human runs `responder restore`")
            continue
        for severity in SEVERITIES:
            lines.append(f"  {severity}: {_rungs_in_words(policy.ladder_for(severity, name))}")
    lines += ["", "Missing or unknown action: notify only, by severity, and counted."]
    lines += [
        "Backtest: `responder backtest --prometheus URL --from 30d` runs the alerts Prometheus recorded "
        "through this policy, planning every action, sending nothing, with nobody acknowledging, and counts "
        "the stops, freezes, investigations, guard refusals, pages and SMS it would have produced"
    ]
    lines += ["", *describe_channels(policy.channels)]
    return lines
