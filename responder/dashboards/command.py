"""`responder dashboards build | check | lint | push`: registered on the main parser by cli.py."""

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from responder import generated
from responder.catalogue.load import load_catalogue
from responder.dashboards import generate
from responder.dashboards.alert_panels import AlertPanelError
from responder.dashboards.build import OUTPUT
from responder.dashboards.lint import lint_dashboards
from responder.dashboards.push import PushError, Token, push
from responder.schemas import ProblemsError

EXIT_OK = 0


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", shared: list[argparse.ArgumentParser]
) -> None:
    """Register `dashboards`; the `shared` options (--root) are accepted at every level."""
    parser = commands.add_parser("dashboards", help="Grafana dashboards: build, check, lint, push", parents=shared)
    sub = parser.add_subparsers(dest="dashboards_command", required=True)
    sub.add_parser("build", help="generate dashboards/*.json from dashboards/src/ and rules/src/", parents=shared)
    sub.add_parser("check", help="fail when dashboards/*.json differ from their sources", parents=shared)
    sub.add_parser("lint", help="offline checks over the generated dashboards", parents=shared)
    push_parser = sub.add_parser("push", help="import the dashboards through Grafana's HTTP API", parents=shared)
    push_parser.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example.com")
    push_parser.add_argument("--folder", required=True, help="folder title; created when missing")
    push_parser.add_argument("--folder-uid", help="folder uid (default: derived from the title)")
    push_parser.add_argument(
        "--token-file", type=Path, help="file holding a service account token (default: $GRAFANA_TOKEN)"
    )
    push_parser.add_argument("--message", default="", help="version history message")


def _run(args: argparse.Namespace) -> int:
    catalogue = load_catalogue(args.root)
    command = args.dashboards_command
    if command == "build":
        print(generated.build(catalogue.root, OUTPUT, generate.generate(catalogue)))
        return EXIT_OK
    if command == "check":
        generated.check(catalogue.root, OUTPUT, generate.generate(catalogue))
        print(f"generated dashboards match their sources ({len(catalogue.systems)} dashboards)")
        return EXIT_OK
    built = generate.build_all(catalogue)
    if command == "lint":
        findings = lint_dashboards(built)
        if findings:
            raise ProblemsError([str(f) for f in findings], f"{len(findings)} lint finding(s):")
        count = sum(1 for b in built for p in b.model["panels"] if p.get("type") != "row")
        print(f"lint clean: {count} panels in {len(built)} dashboards")
        return EXIT_OK
    token = Token.from_environment(args.token_file)
    asyncio.run(push(args.url, token, args.folder, args.folder_uid, built, args.message, _progress(len(built) + 1)))
    return EXIT_OK


def _progress(steps: int) -> Callable[[str], None]:
    """Each step's line as soon as it is done; on a terminal, numbered out of `steps`."""
    count = 0

    def show(line: str) -> None:
        nonlocal count
        count += 1
        print(f"[{count}/{steps}] {line}" if sys.stdout.isatty() else line, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    """The command; every failure it knows of leaves as a ProblemsError, which cli.main prints."""
    try:
        return _run(args)
    except AlertPanelError as exc:
        raise ProblemsError([str(exc)], "an alert cannot be drawn:") from exc
    except PushError as exc:
        raise ProblemsError([str(exc)], "push to Grafana failed:") from exc
