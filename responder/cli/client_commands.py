"""The commands that ask a running responder: status, ack, restore, unfreeze."""

import argparse
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from responder.cli.common import EXIT_OK, Commands, report
from responder.escalation.content import one_line
from responder.policy import Policy, load_policy

CLI_ACTOR = f"cli:{os.environ.get('USER', 'unknown')}"


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
    return report([f"{base}: {exc}; is `responder serve` running?"], "cannot reach the responder:")


def _status(args: argparse.Namespace) -> int:
    policy = load_policy(args.config)
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
    policy = load_policy(args.config)
    namespace, _, deployment = args.target.partition("/")
    if bool(deployment) == bool(args.selector):
        return report(["give NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector"], f"{args.command}: no target:")
    body = {"namespace": namespace, "actor": args.actor}
    body.update({"deployment": deployment} if deployment else {"selector": args.selector})
    try:
        status, answer = call_api(policy, args.url, f"/api/v1/{args.command}", body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _unreachable(args.url, policy, exc)
    if status != 200:
        return report([answer.get("message") or answer.get("detail") or str(answer)], f"{args.command} refused:")
    print(answer["message"])
    return EXIT_OK


def _ack(args: argparse.Namespace) -> int:
    """Acknowledge a firing alert on a running responder: its ladder stops."""
    policy = load_policy(args.config)
    try:
        status, answer = call_api(policy, args.url, f"/api/v1/alerts/{args.fingerprint}/ack", {"actor": args.actor})
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _unreachable(args.url, policy, exc)
    if status != 200:
        return report([answer.get("detail") or str(answer)], "acknowledge refused:")
    if answer["acknowledged"]:
        stopped = ", ".join(answer["ladder_cancelled"]) or "nothing left to stop"
        print(f"acknowledged {args.fingerprint} as {args.actor}; ladder stopped: {stopped}")
    else:
        print(one_line(f"{args.fingerprint} was already acknowledged by {answer['already_acknowledged_by']}"))
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
        return sub

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
    return {"status": _status, "restore": _undo, "unfreeze": _undo, "ack": _ack}
