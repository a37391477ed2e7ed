"""`responder backtest`: what a policy would have done over the alerts Prometheus recorded.

The history is read from Prometheus, fed through the responder's own decision code with nothing
changed and nobody told (see `responder.backtest`), and counted: a short summary for people by
default, the whole report with `--output json` (or yaml). Labels are untrusted: every cell
printed for people passes through `one_line`.
"""

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from responder.backtest.history import HistoryError, parse_time
from responder.backtest.report import NOBODY_ACKNOWLEDGES, PAGING
from responder.backtest.run import Options, backtest
from responder.cli.common import EXIT_OK, OUTPUT, Commands, report
from responder.cli.output import emit, table
from responder.durations import parse_duration
from responder.policy import load_policy
from responder.secrets import url_problem
from responder.vocabulary import Action

DEFAULT_FLAP_THRESHOLD = 3
_PLANNED_WORDS: dict[str, str] = {
    Action.EMERGENCY_STOP: "stops",
    Action.EMERGENCY_HOOK: "hooks",
    Action.FREEZE_DEPLOYMENTS: "freezes",
    Action.UNFREEZE: "unfreezes",
    Action.INVESTIGATE: "investigations",
}


def _counts(counts: dict[str, int], words: dict[str, str] | None = None) -> str:
    return ", ".join(f"{n} {(words or {}).get(k, k)}" for k, n in sorted(counts.items())) or "-"


def render(report: dict[str, Any]) -> str:
    """The short summary for people; every cell taken from an alert is escaped by `table`."""
    window = report["window"]
    lines = [
        f"Backtest of {report['policy']} from {window['from']} to {window['to']}: "
        f"{report['instances']} alert instance(s).",
        f"Note: {NOBODY_ACKNOWLEDGES}.",
        "",
    ]
    if report["already_firing"]:
        lines.insert(
            1,
            f"{report['already_firing']} of them already firing when the window opened: simulated (cooldowns "
            "and the breaker saw them), counted apart under ALREADY FIRING.",
        )
    rows = [
        [
            a["alertname"],
            a["action"],
            str(a["fired"]),
            str(a["already_firing"]),
            _counts(a["planned"], _PLANNED_WORDS),
            _counts(a["refused"]),
            _counts(a["messages"]),
        ]
        for a in report["alerts"]
    ]
    lines.append(table(["alert", "action", "fired", "already firing", "planned", "refused (guard)", "messages"], rows))
    days = [[day, *(str(c.get(ch, 0)) for ch in PAGING)] for day, c in report["messages_per_day"].items()]
    if any(int(n) for d in days for n in d[1:]):
        lines += ["", "Pages and SMS per day (UTC):", table(["day", *PAGING], [d for d in days if d[1:] != ["0", "0"]])]
    else:
        lines += ["", "No page and no SMS would have been sent."]
    if busiest := report["busiest_hour"]:
        lines += ["", f"Busiest hour: {busiest['hour']}, {busiest['firings']} alert(s) started firing."]
    flapping = report["flapping"]
    lines.append("")
    if flapping:
        lines.append(f"Flapping (more than {report['flap_threshold']} firings on one target):")
        lines.append(
            table(["alert", "target", "firings"], [[f["alertname"], f["target"], str(f["firings"])] for f in flapping])
        )
    else:
        lines.append(f"No alert fired more than {report['flap_threshold']} times on one target.")
    return "\n".join(lines)


def _seconds(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


def _options(args: argparse.Namespace) -> Options:
    """ValueError says which flag is wrong and how to write it."""
    if (problem := url_problem(args.prometheus)) is not None:
        raise ValueError(f"--prometheus: {problem}")
    now = time.time()
    start, end = parse_time(args.since, now, "--from"), parse_time(args.until, now, "--to")
    if start >= end:
        raise ValueError("--from must be before --to; e.g. --from 30d --to now")
    rules = args.rules if args.rules is not None else args.root / "rules"
    if not rules.is_dir():
        raise ValueError(f"--rules: {rules} is not a folder; give the folder of the generated *.rules.yml files")
    if args.flap_threshold < 1:
        raise ValueError("--flap-threshold: give a whole number of firings, 1 or more")
    return Options(
        prometheus=args.prometheus,
        start=start,
        end=end,
        rules=rules,
        evaluation_interval=_seconds(args.evaluation_interval, "--evaluation-interval"),
        gap=_seconds(args.gap, "--gap"),
        flap_threshold=args.flap_threshold,
    )


def _backtest_command(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
    except ValueError as exc:
        return report([], f"backtest: {exc}")
    policy = load_policy(args.config, offline=True)
    try:
        result = backtest(policy, options)
    except HistoryError as exc:
        return report([], f"backtest: {exc}")
    emit(result, args.output, lambda: render(result))
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    parser = commands.add_parser(
        "backtest",
        help="what the policy would have done over the alerts Prometheus recorded (changes nothing, tells nobody)",
        parents=[OUTPUT],
    )
    parser.add_argument("--prometheus", required=True, metavar="URL", help="Prometheus's base URL")
    parser.add_argument("--from", dest="since", default="30d", help="start: a duration ago (30d) or Unix seconds")
    parser.add_argument("--to", dest="until", default="now", help="end: now, a duration ago or Unix seconds")
    parser.add_argument("--config", type=Path, help="responder.yaml (default: the embedded default policy)")
    parser.add_argument("--rules", type=Path, help="folder of the generated *.rules.yml (default: ROOT/rules)")
    parser.add_argument(
        "--flap-threshold",
        type=int,
        default=DEFAULT_FLAP_THRESHOLD,
        metavar="N",
        help="report targets fired on more than N times",
    )
    parser.add_argument(
        "--evaluation-interval",
        metavar="DURATION",
        help="evaluation interval of every alert (default: each one's rule group's, read from Prometheus)",
    )
    parser.add_argument(
        "--gap", metavar="DURATION", help="samples apart by more than this end an instance (default: 1.5 intervals)"
    )
    return {"backtest": _backtest_command}
