"""`responder replay`: saved Alertmanager notifications through the responder's own path,
offline, in the order given (firing, then resolved), then each alert's timeline.

Console escalations go to standard error, so that standard output is only the result and
`--output json | jq` works; the result is a readable timeline unless JSON or YAML is asked for.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from responder.alerts import NotJson, PayloadError, parse_notification
from responder.backtest.simulate import dry_run
from responder.cli import timeline
from responder.cli.common import EXIT_OK, OUTPUT, Commands, report
from responder.cli.output import emit
from responder.policy import Policy, load_policy
from responder.service import build_responder


async def _replay(policy: Policy, bodies: list[tuple[bytes, set[str]]]) -> list[dict[str, Any]]:
    responder = build_responder(policy, console=sys.stderr)
    await responder.journal.start()
    try:
        for body, _ in bodies:
            await responder.journal.append_notification(body, "replay", responder.clock())
            await responder.engine.drain()
        fingerprints = sorted(set().union(*(fps for _, fps in bodies)))
        return [t for fp in fingerprints for t in await responder.journal.timeline(fp)]
    finally:
        await responder.journal.close()


def _read(files: list[Path]) -> list[tuple[bytes, set[str]]] | str:
    """Each file's bytes and its alerts' fingerprints, or what is wrong with the first bad one."""
    read = []
    for path in files:
        try:
            body = path.read_bytes()
        except OSError as exc:
            return f"{path}: cannot read it: {exc.strerror}; give the path of a saved notification"
        try:
            notification = parse_notification(body)
        except PayloadError as exc:
            return f"{path}: not an Alertmanager notification: {exc}"
        except NotJson as exc:
            return f"{path}: not JSON: {exc}"
        read.append((body, {a.fingerprint for a in notification.alerts}))
    return read


def _replay_command(args: argparse.Namespace) -> int:
    bodies = _read(args.files)
    if isinstance(bodies, str):
        return report([], f"replay: {bodies}")
    # A replay writes to a SQLite journal (--journal, or the policy's journal.sqlite), never to
    # a shared PostgreSQL journal, where the replicas would act on what it planned.
    policy = replace(load_policy(args.config, offline=True), journal_dsn=None)
    if args.journal:
        policy = replace(policy, journal_path=args.journal)
    if args.dry_run:
        policy = dry_run(policy)
    instances = asyncio.run(_replay(policy, bodies))
    emit(instances, args.output, lambda: timeline.render(instances))
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    replay = commands.add_parser(
        "replay", help="feed saved Alertmanager notifications through the responder", parents=[OUTPUT]
    )
    replay.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
    replay.add_argument("files", type=Path, nargs="+", metavar="FILE", help="JSON notifications, in the order sent")
    replay.add_argument("--journal", type=Path, help="use this journal file instead of the policy's")
    replay.add_argument("--dry-run", action="store_true", help="plan every action, whatever the policy says")
    return {"replay": _replay_command}
