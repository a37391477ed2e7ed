"""What a catalogue check sees (a rule as Prometheus loads it) and what it reports."""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from responder.catalogue import promql
from responder.catalogue.metric_types import MetricType, metric_type


class Severity(StrEnum):
    """An error fails `responder rules lint` (and CI); a warning is printed and passes."""

    ERROR = "error"
    WARNING = "warning"


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
    line: int = 0  # 1-based line in `source`; 0 when unknown
    for_exemption: str | None = None  # the reviewed reason this alert may fire without the minimum `for`
    mutating: bool = False  # the alert's action changes the cluster

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
    metric_types: Mapping[str, MetricType] = field(default_factory=dict)
    recorded_exprs: Mapping[str, str] = field(default_factory=dict)  # record name -> its expression
    scope_labels: tuple[str, ...] = ("job", "namespace")
    max_range_seconds: float = 31 * 86400.0

    def type_of(self, name: str) -> MetricType:
        """A recorded series' type is whatever its rule computes, so it is UNKNOWN unless declared."""
        if name in self.recorded_names and name not in self.metric_types:
            return MetricType.UNKNOWN
        return metric_type(name, self.metric_types)


@dataclass(frozen=True)
class Note:
    """One thing a check says about one rule."""

    message: str
    severity: Severity = Severity.ERROR


def warning(message: str) -> Note:
    return Note(message, Severity.WARNING)


@dataclass(frozen=True)
class Finding:
    check: str
    rule: RuleView
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.rule.source}:{self.rule.line}" if self.rule.line else self.rule.source
        return f"{where}: {self.severity}: {self.rule.kind} {self.rule.name}: {self.message} [{self.check}]"


RuleCheck = Callable[[RuleView, Context], Iterable[str | Note]]
SetCheck = Callable[[Sequence[RuleView], Context], Iterable[tuple[RuleView, str | Note]]]


def as_note(said: str | Note) -> Note:
    return said if isinstance(said, Note) else Note(said)


@dataclass(frozen=True)
class Check:
    name: str
    why: str
    run: SetCheck


def per_rule(name: str, why: str, check: RuleCheck, *, needs_ast: bool = True) -> Check:
    """A check that looks at one rule at a time (most of them)."""

    def run(rules: Sequence[RuleView], ctx: Context) -> Iterator[tuple[RuleView, Note]]:
        for rule in rules:
            if needs_ast and rule.ast is None:
                continue
            for said in check(rule, ctx):
                yield rule, as_note(said)

    return Check(name, why, run)
