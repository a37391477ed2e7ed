"""`responder serve` and `responder check-config`: the responder itself, and its policy in words."""

import argparse
import gc
import logging
from collections.abc import Callable
from pathlib import Path

from responder import logs
from responder.cli.common import EXIT_OK, Commands, report
from responder.journal.sqlite import JournalLockedError
from responder.journal.sqlite_schema import JournalSchemaError
from responder.policy import Policy, describe, load_policy
from responder.service import build_responder
from responder.web import server
from responder.web.app import create_app

log = logging.getLogger("responder")


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
    from responder.journal.postgres import JournalUnavailableError  # the driver: loaded by serve, not every command

    logs.configure()
    policy = load_policy(args.config)
    logs.protect(policy.logged_secrets())  # every log record is scrubbed of these from here on
    if not policy.authenticated:
        if not args.insecure_no_auth:
            return report(
                [
                    f"configure auth.bearer_token(_file) or auth.basic in {policy.source}, or start with "
                    "--insecure-no-auth on a trusted network only"
                ],
                "refusing to start: the webhook would accept notifications from anyone",
            )
        log.warning("INSECURE: webhook, audit API and actions accept unauthenticated requests")
    responder = build_responder(policy)
    for warning in policy.channels.warnings:
        log.warning("escalation: %s", warning)
    # What start-up built lives as long as the process: frozen, full collections stop scanning it.
    gc.freeze()
    # A young generation of 10,000: a request's objects are freed by reference counting, and with
    # many requests in flight the default 700 made the collector run often for nothing.
    gc.set_threshold(10_000, 10, 10)
    server.raise_open_files_limit()
    try:
        server.run(create_app(responder), policy.host, policy.port, _listening(policy))
    except (server.StartupError, JournalLockedError, JournalSchemaError, JournalUnavailableError) as exc:
        return report([], f"cannot start: {' '.join(str(exc).split())}")  # one line: libpq's reasons span two
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    policy = load_policy(args.config, offline=True)
    build_responder(policy)  # the same wiring checks serve would make
    print("\n".join(describe(policy)))
    if policy.unread_secrets:
        print("\nWARNING: serve will refuse to start until these credentials can be read:")
        print("\n".join(f"  {problem}" for problem in policy.unread_secrets))
    elif not policy.authenticated:
        print("\nWARNING: no authentication configured; serve will refuse to start without --insecure-no-auth")
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    serve = commands.add_parser("serve", help="run the webhook, engine and APIs")
    serve.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
    serve.add_argument("--insecure-no-auth", action="store_true", help="allow starting without authentication")
    check = commands.add_parser("check-config", help="validate responder.yaml and print the effective plan in words")
    check.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
    return {"serve": _serve, "check-config": _check_config}
