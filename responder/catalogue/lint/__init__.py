"""Offline checks over the catalogue's generated rules, one check per module.

Checks run over rules as Prometheus will load them (after generation), so that what is linted is
what ships; findings point back at the source file that produced the rule. Each module exports
`CHECK`, whose `why` is the one-line reason the check exists.
"""

from collections.abc import Sequence

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
from responder.catalogue.lint_base import Check, Context, Finding, RuleView
from responder.catalogue.model import Catalogue
from responder.catalogue.rules import alert_rule, recording_rule
from responder.durations import parse_duration


def all_checks() -> list[Check]:
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
