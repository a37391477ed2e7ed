"""Expand an availability SLO into error-ratio recording rules and burn-rate alerts.

Why generate instead of writing them by hand: the eight thresholds of a multi-window,
multi-burn-rate pair follow from two numbers (objective, factor); written by hand they drift
apart the first time someone edits one. Thresholds are computed in decimal so that the generated
text stays stable and readable (0.00432, not 0.004320000000000001).
"""

import re
from decimal import Decimal

import promql_parser

from responder.catalogue.model import Alert, RecordingRule, Settings, Slo
from responder.durations import parse_duration

RECORD = "slo:sli_error:ratio_rate{window}"
SPEEDS = {"fast": "BudgetBurnFast", "slow": "BudgetBurnSlow"}


def slo_label(name: str) -> str:
    """BuilderAvailability -> builder_availability: the `slo` label on recorded series."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _windows(settings: Settings) -> list[str]:
    seen = {w for rate in settings.burn_rates.values() for pair in rate.windows for w in (pair.long, pair.short)}
    return sorted(seen, key=parse_duration)


def _selector_with_range(selector: str, window: str, slo: Slo) -> str:
    node = promql_parser.parse(selector)
    if type(node).__name__ != "VectorSelector":
        raise ValueError(
            f"SLO {slo.name}: {selector!r} must be a plain series selector such as "
            'http_requests_total{code=~"5.."}; aggregation is added by the generator'
        )
    return f"{selector}[{window}]"


def expand_slo(slo: Slo, settings: Settings) -> tuple[list[RecordingRule], list[Alert]]:
    """The recording rules (one per window) and the two alerts (fast, slow) for one SLO."""
    label = slo_label(slo.name)
    records = [
        RecordingRule(
            record=RECORD.format(window=window),
            expr=(
                f"sum(rate({_selector_with_range(slo.errors, window, slo)}))\n"
                f"/\nsum(rate({_selector_with_range(slo.total, window, slo)}))"
            ),
            labels={"slo": label},
        )
        for window in _windows(settings)
    ]
    budget = Decimal(1) - slo.objective
    objective_pct = _number(slo.objective * 100)
    alerts = []
    for speed, suffix in SPEEDS.items():
        rate = settings.burn_rates[speed]
        clauses = []
        for pair in rate.windows:
            threshold = _number(pair.factor * budget)
            long_sel = f'{RECORD.format(window=pair.long)}{{slo="{label}"}}'
            short_sel = f'{RECORD.format(window=pair.short)}{{slo="{label}"}}'
            clauses.append(f"(\n  {long_sel} > {threshold}\nand\n  {short_sel} > {threshold}\n)")
        factors = " or ".join(f"{_number(p.factor)}x over {p.long}" for p in rate.windows)
        alerts.append(
            Alert(
                name=f"{slo.name}{suffix}",
                expr="\nor\n".join(clauses),
                for_=rate.for_,
                severity=rate.severity,
                action=slo.action,
                why=slo.why,
                summary=f"{slo.description}: error budget burning {speed}",
                description=(
                    "Error ratio {{ $value | humanizePercentage }} over the long window "
                    f"burns the {objective_pct}% objective's budget at least {factors}."
                ),
                runbook_url=slo.runbook_url,
                target=slo.target,
            )
        )
    return records, alerts
