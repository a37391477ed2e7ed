"""`responder replay`: a saved Alertmanager notification through the responder's own path, offline."""

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from responder.alerts import Notification, NotJson, PayloadError, parse_notification
from responder.cli.common import EXIT_OK, Commands, report
from responder.policy import ActionPolicy, Policy, load_policy
from responder.service import build_responder


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
        return report([f"{args.file}: {exc}"], "not an Alertmanager notification:")
    except NotJson as exc:
        return report([f"{args.file}: {exc}"], "not JSON:")
    policy = load_policy(args.config, offline=True)
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


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    replay = commands.add_parser("replay", help="feed a saved Alertmanager payload through the responder")
    replay.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
    replay.add_argument("file", type=Path, help="a JSON notification as Alertmanager sends it")
    replay.add_argument("--journal", type=Path, help="use this journal file instead of the policy's")
    replay.add_argument("--dry-run", action="store_true", help="plan every action, whatever the policy says")
    return {"replay": _replay_command}
