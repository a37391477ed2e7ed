"""`responder rules …` and `responder manifests …`: files generated from sources, offline."""

import argparse
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from responder import generated, manifests
from responder.catalogue import preview, rules, version
from responder.catalogue.lint import lint_report
from responder.catalogue.load import load_catalogue
from responder.catalogue.metric_types import from_metadata
from responder.cli import sloth_commands
from responder.cli.common import EXIT_OK, ROOT, Commands, report
from responder.policy import load_policy


def _rules(args: argparse.Namespace) -> int:
    if args.rules_command == "import-sloth":
        return sloth_commands.run(args)
    catalogue = load_catalogue(args.root)
    if args.rules_command == "build":
        print(generated.build(catalogue.root, rules.OUTPUT, rules.generate(catalogue)))
        return EXIT_OK
    if args.rules_command == "check":
        files = rules.generate(catalogue)
        generated.check(catalogue.root, rules.OUTPUT, files)
        if unbumped := version.unbumped(catalogue.root, catalogue.settings.version, files):
            return report(unbumped, version.bump_headline(catalogue.settings.version))
        print(f"generated rules match their sources (ruleset {catalogue.settings.version})")
        return EXIT_OK
    if args.rules_command == "lint":
        metadata = from_metadata(json.loads(args.metadata.read_text("utf-8"))) if args.metadata else None
        result = lint_report(catalogue, metadata)
        if result.errors:
            return report(result.lines(), f"{len(result.errors)} lint error(s):")
        for warning in result.lines()[:-1]:
            print(warning)
        print(f"lint clean: {result.alerts} alerts in {result.systems} systems")
        print(result.summary())
        return EXIT_OK
    binary = shutil.which("prometheus")
    if binary is None:
        return report(["install it with: apt-get install prometheus"], "prometheus is not installed:")
    argv = preview.prometheus_argv(catalogue.root, args.data, args.listen, binary)
    print(f"Prometheus with {len(catalogue.systems)} rule files: http://{args.listen}/alerts", flush=True)
    os.execv(binary, argv)  # replaces this process; returns only by raising OSError
    return EXIT_OK


def _manifests(args: argparse.Namespace) -> int:
    """Every example policy under --root (deploy/*/policy.yaml), each into its own directory,
    unless --config names one. Generated files name their policy relative to the root, so the
    same policy given by another path writes the same bytes."""
    sources = [args.config] if args.config is not None else [args.root / p for p in manifests.examples(args.root)]
    if not sources:
        return report([f"create {args.root / manifests.POLICY}, or name a policy with --config"], "no policy to build:")
    for source in sources:
        shown = source.relative_to(args.root) if source.is_relative_to(args.root) else source
        policy = load_policy(source, env=manifests.PLACEHOLDERS, offline=True)
        files = manifests.generate(policy, shown, source.read_text("utf-8"), args.replicas)
        if args.manifests_command == "check":
            generated.check(args.root, manifests.output(shown), files)
            print(f"deploy manifests match {source}")
        else:
            print(generated.build(args.root, manifests.output(shown), files))
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Register `rules` and `manifests`; --root (and manifests' --config) are accepted at every level."""
    rules_parser = commands.add_parser("rules", help="alert catalogue: build, check, lint, preview", parents=[ROOT])
    rules_commands = rules_parser.add_subparsers(dest="rules_command", required=True)
    rules_commands.add_parser("build", help="generate rules/*.rules.yml and PrometheusRules", parents=[ROOT])
    rules_commands.add_parser("check", help="fail when generated files differ from the sources", parents=[ROOT])
    lint_parser = rules_commands.add_parser("lint", help="offline checks over the catalogue's rules", parents=[ROOT])
    lint_parser.add_argument(
        "--metadata", type=Path, help="a saved /api/v1/metadata response: metric types from the Prometheus"
    )
    sloth_commands.add_parser(rules_commands, ROOT)
    preview_parser = rules_commands.add_parser("preview", help="serve the rules in a local Prometheus", parents=[ROOT])
    preview_parser.add_argument("--listen", default="127.0.0.1:9090", help="host:port to serve on")
    preview_parser.add_argument("--data", type=Path, default=Path("var/preview"), help="data directory")

    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"the in-cluster policy (default: every ROOT/{manifests.EXAMPLES}, each built beside it)",
    )
    config.add_argument(
        "--replicas",
        type=int,
        default=argparse.SUPPRESS,
        help=f"replicas for a journal.postgresql policy (default {manifests.REPLICAS}); SQLite runs one",
    )
    levels = [ROOT, config]
    manifests_parser = commands.add_parser(
        "manifests", help="Kubernetes manifests and least-privilege RBAC", parents=levels
    )
    manifests_commands = manifests_parser.add_subparsers(dest="manifests_command", required=True)
    manifests_commands.add_parser("build", help="generate deploy/kubernetes/ from the policy", parents=levels)
    manifests_commands.add_parser(
        "check", help="fail when the committed manifests differ from the policy", parents=levels
    )
    return {"rules": _rules, "manifests": _manifests}
