"""A well-formed alert to start from; each test changes the one thing its check is about."""

from typing import Any

from responder.catalogue.lint_base import Check, Context, Note, RuleView, as_note

CONTEXT = Context(
    for_minimum_seconds={"critical": 60.0, "warning": 120.0, "info": 300.0},
    recorded_names=frozenset({"slo:sli_error:ratio_rate5m"}),
)


def alert(
    expr: str = "max without (instance) (cost_daily_burn_rate) > 0.5",
    name: str = "CostBudgetExceeded",
    **changes: Any,
) -> RuleView:
    fields: dict[str, Any] = {
        "source": "rules/src/example.yaml",
        "system": "example",
        "scrape_seconds": 15.0,
        "for_": "5m",
        "labels": {"severity": "critical", "team": "sre", "system": "example"},
        "annotations": {
            "summary": "Cost budget exceeded",
            "description": "Spend is {{ $value }}",
            "runbook_url": "https://runbooks.example.com/x",
            "action": "EMERGENCY_STOP",
            "target_namespace": "prod",
            "target_deployment": "api",
        },
    }
    fields.update(changes)
    return RuleView.build("alert", name, expr, **fields)


def record(expr: str, name: str = "job:requests:rate5m") -> RuleView:
    return RuleView.build("record", name, expr, source="rules/src/example.yaml", system="example", scrape_seconds=15.0)


def notes(check: Check, *rules: RuleView, ctx: Context = CONTEXT) -> list[Note]:
    return [as_note(said) for _, said in check.run(rules, ctx)]


def messages(check: Check, *rules: RuleView, ctx: Context = CONTEXT) -> list[str]:
    return [note.message for note in notes(check, *rules, ctx=ctx)]
