"""Offline checks over the catalogue's generated rules, one check per module.

Checks run over rules as Prometheus will load them (after generation), so that what is linted is
what ships; findings point back at the source file that produced the rule. Each module exports
`CHECK`, whose `why` is the one-line reason the check exists.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from responder.catalogue import promql
from responder.catalogue.model import Catalogue
from responder.catalogue.rules import alert_rule, recording_rule
from responder.durations import parse_duration


@dataclass(frozen=True)
class RuleView:
    """One rule as Prometheus sees it, with its parsed expression and where it came from."""

    kind: str  # "alert" or "record"
    name: str
    expr: str
    source: str
    system: str
    scrape_seconds: float
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    ast: Any = None
    parse_error: str | None = None

    @classmethod
    def build(cls, kind: str, name: str, expr: str, **fields: Any) -> "RuleView":
        try:
            ast, error = promql.parse(expr), None
        except ValueError as exc:
            ast, error = None, str(exc)
        return cls(kind=kind, name=name, expr=expr, ast=ast, parse_error=error, **fields)


@dataclass(frozen=True)
class Context:
    """What the checks know beyond a rule: catalogue-wide settings and names."""

    for_minimum_seconds: dict[str, float]
    recorded_names: frozenset[str]


@dataclass(frozen=True)
class Finding:
    check: str
    rule: RuleView
    message: str

    def __str__(self) -> str:
        return f"{self.rule.source}: {self.rule.kind} {self.rule.name}: {self.message} [{self.check}]"


RuleCheck = Callable[[RuleView, Context], Iterable[str]]
SetCheck = Callable[[Sequence[RuleView], Context], Iterable[tuple[RuleView, str]]]


@dataclass(frozen=True)
class Check:
    name: str
    why: str
    run: SetCheck


def per_rule(name: str, why: str, check: RuleCheck, *, needs_ast: bool = True) -> Check:
    """A check that looks at one rule at a time (most of them)."""

    def run(rules: Sequence[RuleView], ctx: Context) -> Iterator[tuple[RuleView, str]]:
        for rule in rules:
            if needs_ast and rule.ast is None:
                continue
            for message in check(rule, ctx):
                yield rule, message

    return Check(name, why, run)


def all_checks() -> list[Check]:
    # Imported here so that each check module can import Check and per_rule from this one.
    from responder.catalogue.lint import (
        action_vocabulary,
        alert_has_comparison,
        expr_parses,
        for_minimum,
        histogram_quantile_by_le,
        mutating_targets,
        no_value_in_labels,
        range_windows,
        rate_over_counters,
        required_metadata,
        static_summary,
        unique_names,
    )

    modules = (
        expr_parses,
        alert_has_comparison,
        rate_over_counters,
        histogram_quantile_by_le,
        range_windows,
        no_value_in_labels,
        required_metadata,
        action_vocabulary,
        mutating_targets,
        for_minimum,
        unique_names,
        static_summary,
    )
    return [m.CHECK for m in modules]


def catalogue_rules(catalogue: Catalogue) -> tuple[list[RuleView], Context]:
    """The catalogue's rules exactly as the generator writes them, ready for the checks."""
    views = []
    for system in catalogue.systems:
        common = {
            "source": system.source.as_posix(),
            "system": system.system,
            "scrape_seconds": system.scrape_seconds,
        }
        for rec in system.recording_rules:
            r = recording_rule(rec)
            views.append(RuleView.build("record", r["record"], r["expr"], labels=r.get("labels", {}), **common))
        for alert in system.alerts:
            a = alert_rule(system, alert)
            views.append(
                RuleView.build(
                    "alert",
                    a["alert"],
                    a["expr"],
                    for_=a["for"],
                    labels=a["labels"],
                    annotations=a["annotations"],
                    **common,
                )
            )
    ctx = Context(
        for_minimum_seconds={sev: parse_duration(d) for sev, d in catalogue.settings.for_minimum.items()},
        recorded_names=frozenset(v.name for v in views if v.kind == "record"),
    )
    return views, ctx


def lint_rules(rules: Sequence[RuleView], ctx: Context) -> list[Finding]:
    return [Finding(check.name, rule, message) for check in all_checks() for rule, message in check.run(rules, ctx)]


def run_lint(catalogue: Catalogue) -> list[Finding]:
    rules, ctx = catalogue_rules(catalogue)
    return lint_rules(rules, ctx)
