"""The `responder` command line: one subcommand per job an operator or CI runs."""

import argparse
import asyncio
import gc
import json
import logging
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from responder import generated, logs, manifests
from responder.alerts import Notification, NotJson, PayloadError, parse_notification
from responder.catalogue import preview, rules
from responder.catalogue.lint import run_lint
from responder.catalogue.load import load_catalogue
from responder.dashboards import command as dashboards_command
from responder.escalation.content import one_line
from responder.journal.sqlite import JournalLockedError
from responder.journal.sqlite_schema import JournalSchemaError
from responder.policy import ActionPolicy, Policy, describe, load_policy
from responder.schemas import ProblemsError
from responder.service import build_responder
from responder.web import server
from responder.web.app import create_app

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
CLI_ACTOR = f"cli:{os.environ.get('USER', 'unknown')}"
log = logging.getLogger("responder")


def _report(problems: Sequence[str], headline: str) -> int:
    print(headline, file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_PROBLEMS


# --- rules ---------------------------------------------------------------------------------


def _rules(args: argparse.Namespace) -> int:
    catalogue = load_catalogue(args.root)
    if args.rules_command == "build":
        print(generated.build(catalogue.root, rules.OUTPUT, rules.generate(catalogue)))
        return EXIT_OK
    if args.rules_command == "check":
        generated.check(catalogue.root, rules.OUTPUT, rules.generate(catalogue))
        print(f"generated rules match their sources (ruleset {catalogue.settings.version})")
        return EXIT_OK
    if args.rules_command == "lint":
        findings = run_lint(catalogue)
        if findings:
            return _report([str(f) for f in findings], f"{len(findings)} lint finding(s):")
        alerts = sum(len(s.alerts) for s in catalogue.systems)
        print(f"lint clean: {alerts} alerts in {len(catalogue.systems)} systems")
        return EXIT_OK
    binary = shutil.which("prometheus")
    if binary is None:
        return _report(["install it with: apt-get install prometheus"], "prometheus is not installed:")
    argv = preview.prometheus_argv(catalogue.root, args.data, args.listen, binary)
    print(
        f"Prometheus with {len(catalogue.systems)} rule files: http://{args.listen}/alerts",
        flush=True,
    )
    os.execv(binary, argv)  # replaces this process; returns only by raising OSError
    return EXIT_OK


# --- the responder -------------------------------------------------------------------------


def _manifests(args: argparse.Namespace) -> int:
    source = args.config
    policy = load_policy(source, env=manifests.PLACEHOLDERS)
    files = manifests.generate(policy, source, source.read_text("utf-8"))
    if args.manifests_command == "check":
        generated.check(args.root, manifests.output(source), files)
        print(f"deploy manifests match {source}")
        return EXIT_OK
    print(generated.build(args.root, manifests.output(source), files))
    return EXIT_OK


def _policy(args: argparse.Namespace) -> Policy:
    return load_policy(args.config)


def _listening(policy: Policy) -> Callable[[], None]:
    def announce() -> None:
        address = f"http://{policy.host}:{policy.port}"
        print(
            f"alert-responder listening on {address}\n"
            f"  Alertmanager: webhook_configs: [{{url: {address}/webhook, send_resolved: true}}] with "
            "http_config.authorization.credentials_file (see deploy/alertmanager.yml)\n"
            f"  Audit API:    {address}/api/v1/alerts",
            flush=True,
        )

    return announce


def _serve(args: argparse.Namespace) -> int:
    logs.configure()
    policy = _policy(args)
    logs.protect(policy.logged_secrets())  # every log record is scrubbed of these from here on
    if not policy.authenticated:
        if not args.insecure_no_auth:
            return _report(
                [
                    "configure auth.bearer_token(_file) or auth.basic in responder.yaml, or start with "
                    "--insecure-no-auth on a trusted network only"
                ],
                "refusing to start: the webhook would accept notifications from anyone",
            )
        log.warning("INSECURE: webhook, audit API and actions accept unauthenticated requests")
    responder = build_responder(policy)
    # What start-up built lives as long as the process: frozen, full collections stop scanning it.
    gc.freeze()
    # A young generation of 10,000: a request's objects are freed by reference counting, and with
    # many requests in flight the default 700 made the collector run often for nothing.
    gc.set_threshold(10_000, 10, 10)
    server.raise_open_files_limit()
    try:
        server.run(create_app(responder), policy.host, policy.port, _listening(policy))
    except (server.StartupError, JournalLockedError, JournalSchemaError) as exc:
        return _report([], f"cannot start: {exc}")
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    policy = _policy(args)
    build_responder(policy)  # the same wiring checks serve would make
    print("\n".join(describe(policy)))
    if not policy.authenticated:
        print("\nWARNING: no authentication configured; serve will refuse to start without --insecure-no-auth")
    return EXIT_OK


async def _replay(policy: Policy, body: bytes, notification: Notification) -> list[dict[str, Any]]:
    responder = build_responder(policy)
    await responder.journal.start()
    try:
        await responder.journal.append_notification(body, "replay", responder.clock())
        await responder.engine.drain()
        fingerprints = {a.fingerprint for a in notification.alerts}
        return [t for fp in sorted(fingerprints) for t in await responder.journal.timeline(fp)]
    finally:
        await responder.journal.close()


def _replay_command(args: argparse.Namespace) -> int:
    body = args.file.read_bytes()
    try:
        notification = parse_notification(body)
    except PayloadError as exc:
        return _report([f"{args.file}: {exc}"], "not an Alertmanager notification:")
    except NotJson as exc:
        return _report([f"{args.file}: {exc}"], "not JSON:")
    policy = _policy(args)
    if args.journal:
        policy = Policy(**{**policy.__dict__, "journal_path": args.journal})
    if args.dry_run:
        policy = Policy(
            **{
                **policy.__dict__,
                "actions": {
                    name: ActionPolicy(
                        **{**action.__dict__, "mode": "plan" if action.mode != "disabled" else "disabled"}
                    )
                    for name, action in policy.actions.items()
                },
            }
        )
    timelines = asyncio.run(_replay(policy, body, notification))
    print(json.dumps(timelines, indent=2, sort_keys=True))
    return EXIT_OK


def call_api(policy: Policy, url: str | None, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """Call a running responder's API with the policy's credentials: (status, decoded JSON)."""
    base = url or f"http://{policy.host}:{policy.port}"
    headers = {"Content-Type": "application/json"}
    if policy.bearer_token:
        headers["Authorization"] = f"Bearer {policy.bearer_token.value}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _unreachable(url: str | None, policy: Policy, exc: Exception) -> int:
    base = url or f"http://{policy.host}:{policy.port}"
    return _report([f"{base}: {exc}; is `responder serve` running?"], "cannot reach the responder:")


def _status(args: argparse.Namespace) -> int:
    policy = _policy(args)
    try:
        _, ready = call_api(policy, args.url, "/readyz")
        _, firing = call_api(policy, args.url, "/api/v1/alerts?status=firing")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _unreachable(args.url, policy, exc)
    url = args.url or f"http://{policy.host}:{policy.port}"
    print(f"{url}: {ready['status']}, backlog {ready.get('backlog', '?')}, {len(firing['alerts'])} firing alert(s)")
    for alert in firing["alerts"]:
        line = f"  {alert['alertname']} [{alert['severity']}] {alert['action'] or 'no action'} {alert['fingerprint']}"
        print(one_line(line))  # alert text from the API: no escape sequence reaches the terminal
    return EXIT_OK


def _undo(args: argparse.Namespace) -> int:
    """`restore` and `unfreeze`: ask the running responder, so that it records who did what."""
    policy = _policy(args)
    namespace, _, deployment = args.target.partition("/")
    if bool(deployment) == bool(args.selector):
        return _report(["give NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector"], f"{args.command}: no target:")
    body = {"namespace": namespace, "actor": args.actor}
    body.update({"deployment": deployment} if deployment else {"selector": args.selector})
    try:
        status, answer = call_api(policy, args.url, f"/api/v1/{args.command}", body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _unreachable(args.url, policy, exc)
    if status != 200:
        return _report([answer.get("message") or answer.get("detail") or str(answer)], f"{args.command} refused:")
    print(answer["message"])
    return EXIT_OK


def _ack(args: argparse.Namespace) -> int:
    """Acknowledge a firing alert on a running responder: its ladder stops."""
    policy = _policy(args)
    try:
        status, answer = call_api(policy, args.url, f"/api/v1/alerts/{args.fingerprint}/ack", {"actor": args.actor})
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _unreachable(args.url, policy, exc)
    if status != 200:
        return _report([answer.get("detail") or str(answer)], "acknowledge refused:")
    if answer["acknowledged"]:
        stopped = ", ".join(answer["ladder_cancelled"]) or "nothing left to stop"
        print(f"acknowledged {args.fingerprint} as {args.actor}; ladder stopped: {stopped}")
    else:
        print(one_line(f"{args.fingerprint} was already acknowledged by {answer['already_acknowledged_by']}"))
    return EXIT_OK


# --- parser ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    rules_parser = commands.add_parser("rules", help="alert catalogue: build, check, lint, preview")
    rules_parser.add_argument("--root", type=Path, default=Path(), help="repository root holding rules/")
    rules_commands = rules_parser.add_subparsers(dest="rules_command", required=True)
    rules_commands.add_parser("build", help="generate rules/*.rules.yml and PrometheusRules")
    rules_commands.add_parser("check", help="fail when generated files differ from the sources")
    rules_commands.add_parser("lint", help="offline checks over the catalogue's rules")
    preview_parser = rules_commands.add_parser("preview", help="serve the rules in a local Prometheus")
    preview_parser.add_argument("--listen", default="127.0.0.1:9090", help="host:port to serve on")
    preview_parser.add_argument("--data", type=Path, default=Path("var/preview"), help="data directory")

    dashboards_command.add_parser(commands)

    manifests_parser = commands.add_parser("manifests", help="Kubernetes manifests and least-privilege RBAC")
    manifests_parser.add_argument("--root", type=Path, default=Path(), help="repository root holding deploy/")
    manifests_parser.add_argument("--config", type=Path, default=manifests.POLICY, help="the in-cluster policy")
    manifests_commands = manifests_parser.add_subparsers(dest="manifests_command", required=True)
    manifests_commands.add_parser("build", help="generate deploy/kubernetes/ from the policy")
    manifests_commands.add_parser("check", help="fail when the committed manifests differ from the policy")

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
        return sub

    serve = with_config("serve", "run the webhook, engine and APIs")
    serve.add_argument("--insecure-no-auth", action="store_true", help="allow starting without authentication")
    with_config("check-config", "validate responder.yaml and print the effective plan in words")
    replay = with_config("replay", "feed a saved Alertmanager payload through the responder")
    replay.add_argument("file", type=Path, help="a JSON notification as Alertmanager sends it")
    replay.add_argument("--journal", type=Path, help="use this journal file instead of the policy's")
    replay.add_argument("--dry-run", action="store_true", help="plan every action, whatever the policy says")
    status = with_config("status", "readiness, backlog and firing alerts of a running responder")
    status.add_argument("--url", help="base URL of the responder (default: the policy's listen address)")
    for name, help_text in (
        ("restore", "scale an emergency-stopped deployment back to its recorded replica count"),
        ("unfreeze", "lift every freeze on a deployment and resume its rollouts"),
    ):
        undo = with_config(name, help_text)
        undo.add_argument("target", help="NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector")
        undo.add_argument("--selector", help="a label selector instead of a deployment name")
        undo.add_argument("--actor", default=CLI_ACTOR, help="who asks, for the audit trail (default: cli:$USER)")
        undo.add_argument("--url", help="base URL of the responder (default: the policy's listen address)")
    ack = with_config("ack", "acknowledge a firing alert: its escalation ladder stops")
    ack.add_argument("fingerprint", help="the alert's fingerprint, as the audit API and messages show it")
    ack.add_argument("--url", help="base URL of the responder (default: the policy's listen address)")
    ack.add_argument("--actor", default=CLI_ACTOR, help="who acknowledges, for the audit trail (default: cli:$USER)")
    return parser


_COMMANDS = {
    "rules": _rules,
    "manifests": _manifests,
    "dashboards": dashboards_command.run,
    "serve": _serve,
    "check-config": _check_config,
    "replay": _replay_command,
    "status": _status,
    "restore": _undo,
    "unfreeze": _undo,
    "ack": _ack,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ProblemsError as exc:
        return _report(exc.problems, exc.headline)
