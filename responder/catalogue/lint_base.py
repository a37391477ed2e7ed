"""What a catalogue check sees (a rule as Prometheus loads it) and what it reports."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from responder.catalogue import promql


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
