"""The `responder` command line: one subcommand per job an operator or CI runs.

Offline commands build and check generated files (rules, dashboards, manifests), run the
responder (serve) or look at a policy without serving it (check-config, replay, backtest); client
commands (status, alerts, holds, operations, ack, restore, unfreeze) ask a running responder
over HTTP. Every failure a command knows of is printed in words on standard error, exit code 1.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from responder.cli import backtest, build_commands, client_commands, journal_commands, replay, server_commands
from responder.cli.common import CLIENT, EXIT_OK, EXIT_PROBLEMS, OUTPUT, ROOT, fill_defaults, report
from responder.cli.completion import Shell, script
from responder.client.http import ClientError
from responder.dashboards import command as dashboards_command
from responder.schemas import ProblemsError

Command = Callable[[argparse.Namespace], int]


def _version() -> str:
    try:
        return version("alert-responder")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The whole command line, and what runs each command."""
    top = argparse.ArgumentParser(
        prog="responder",
        description=__doc__,
        parents=[ROOT, CLIENT, OUTPUT],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"responder {_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run: dict[str, Command] = {}
    run.update(build_commands.add_parsers(commands))
    dashboards_command.add_parser(commands, [ROOT])
    run["dashboards"] = dashboards_command.run
    run.update(server_commands.add_parsers(commands))
    run.update(replay.add_parsers(commands))
    run.update(journal_commands.add_parsers(commands))
    run.update(backtest.add_parsers(commands))
    run.update(client_commands.add_parsers(commands))
    completion = commands.add_parser("completion", help="print a shell completion script (bash or zsh)")
    completion.add_argument("shell", choices=[str(s) for s in Shell], help="the shell to complete for")
    run["completion"] = lambda args: _completion(top, Shell(args.shell))
    return top, run


def _completion(top: argparse.ArgumentParser, shell: Shell) -> int:
    print(script(top, shell), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    top, run = parser()
    args = fill_defaults(top.parse_args(argv))
    try:
        return run[args.command](args)
    except ProblemsError as exc:
        return report(exc.problems, exc.headline)
    except ClientError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
