"""The `responder` command line: one subcommand per job an operator or CI runs."""

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from responder.catalogue import preview, rules
from responder.catalogue.lint import run_lint
from responder.catalogue.model import CatalogueError, load_catalogue

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _report(problems: Sequence[str], headline: str) -> int:
    print(headline, file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_PROBLEMS


def _rules_build(root: Path) -> int:
    catalogue = load_catalogue(root)
    changed = rules.write(catalogue, rules.generate(catalogue))
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print("generated rules are up to date")
    return EXIT_OK


def _rules_check(root: Path) -> int:
    catalogue = load_catalogue(root)
    problems = rules.drift(
        catalogue, rules.generate(catalogue), [rules.RULES_DIR, rules.OPERATOR_DIR]
    )
    if problems:
        return _report(problems, "generated rules are out of date with rules/src/:")
    print(f"generated rules match their sources (ruleset {catalogue.settings.version})")
    return EXIT_OK


def _rules_lint(root: Path) -> int:
    catalogue = load_catalogue(root)
    findings = run_lint(catalogue)
    if findings:
        return _report([str(f) for f in findings], f"{len(findings)} lint finding(s):")
    alerts = sum(len(s.alerts) for s in catalogue.systems)
    print(f"lint clean: {alerts} alerts in {len(catalogue.systems)} systems")
    return EXIT_OK


def _rules_preview(root: Path, listen: str, data: Path) -> int:
    catalogue = load_catalogue(root)
    binary = shutil.which("prometheus")
    if binary is None:
        return _report(
            ["install it with: apt-get install prometheus"], "prometheus is not installed:"
        )
    argv = preview.prometheus_argv(catalogue.root, data, listen, binary)
    print(
        f"Prometheus with {len(catalogue.systems)} rule files: http://{listen}/alerts", flush=True
    )
    os.execv(binary, argv)  # replaces this process; returns only by raising OSError
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rules_parser = commands.add_parser("rules", help="alert catalogue: build, check, lint")
    rules_parser.add_argument(
        "--root", type=Path, default=Path(), help="repository root holding rules/ (default: .)"
    )
    rules_commands = rules_parser.add_subparsers(dest="rules_command", required=True)
    rules_commands.add_parser("build", help="generate rules/*.rules.yml and PrometheusRules")
    rules_commands.add_parser("check", help="fail when generated files differ from the sources")
    rules_commands.add_parser("lint", help="offline checks over the catalogue's rules")
    preview_parser = rules_commands.add_parser(
        "preview", help="serve the rules in a local Prometheus"
    )
    preview_parser.add_argument("--listen", default="127.0.0.1:9090", help="host:port to serve on")
    preview_parser.add_argument(
        "--data", type=Path, default=Path("var/preview"), help="data directory"
    )
    return parser


_RULES = {"build": _rules_build, "check": _rules_check, "lint": _rules_lint}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.rules_command == "preview":
            return _rules_preview(args.root, args.listen, args.data)
        return _RULES[args.rules_command](args.root)
    except CatalogueError as exc:
        return _report(exc.problems, "the alert catalogue has errors:")
