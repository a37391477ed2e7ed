"""What every subcommand shares: exit codes, how problems are reported, and the options a
command accepts at any level of its parser (`responder --root X rules build` and
`responder rules build --root X` mean the same).

A shared option is added to every parser on the way to a command with `argparse.SUPPRESS` as
its default, so a level where it is not given leaves the value another level set; `fill_defaults`
then supplies the default once, after parsing.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

EXIT_OK, EXIT_PROBLEMS = 0, 1  # argparse itself exits 2 for a command line it cannot read
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def report(problems: Sequence[str], headline: str) -> int:
    """The headline and each problem on a line of its own, on standard error; the exit code."""
    print(headline, file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_PROBLEMS


def _parent(*options: tuple[tuple[str, ...], dict[str, Any]]) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    for flags, settings in options:
        parent.add_argument(*flags, default=argparse.SUPPRESS, **settings)
    return parent


ROOT = _parent((("--root",), {"type": Path, "help": "repository root holding rules/, dashboards/ and deploy/"}))
CLIENT = _parent(
    (("--context",), {"help": "a context of the client config (default: its current-context)"}),
    (("--url",), {"help": "base URL of the responder (overrides the context's)"}),
    (("--token-file",), {"type": Path, "help": "file holding the bearer token (overrides $RESPONDER_TOKEN)"}),
)
OUTPUT = _parent(
    (("-o", "--output"), {"choices": ("table", "json", "yaml"), "help": "output format (default: table)"}),
)
DEFAULTS: dict[str, Any] = {
    "root": Path(),
    "config": None,
    "replicas": None,
    "context": None,
    "url": None,
    "token_file": None,
    "output": "table",
}


def fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The shared options' defaults, for each one that no level of the parser was given."""
    for name, value in DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    return args
