"""Expand an SLO into sloth-compatible recording rules and multi-window burn-rate alerts.

Why generate instead of writing them by hand: the thresholds of a multi-window, multi-burn-rate
pair follow from the objective, the period and the share of budget each window may spend; written
by hand they drift apart the first time someone edits one. Burn factors follow the SRE workbook:
spending `budget_spent` of a `period` budget within the `long` window is a burn of
budget_spent * period / long (2 % of 30 days in 1 hour is 14.4x). Thresholds are computed in
decimal, so the generated text is exact (0.0144, not 0.014400000000000001), and compared with a
strict `>` raised by one part in a billion: rate() and the division leave about 1e-16 of relative
float noise on a ratio that sits exactly at the threshold, which would otherwise flip the alert on
and off at random evaluations. A burn of exactly the factor never pages; any real excess does.

Records carry sloth's names and labels (`sloth_id`, `sloth_service`, `sloth_slo`, `sloth_window`),
so dashboards built for sloth's output read ours unchanged; they keep our `slo` label too.
Burn-rate alerts have no dwell time: the short window is their guard against blips (the alert
clears as soon as the burn stops), so they fire on the first evaluation that meets both windows.
"""

import re
from decimal import Decimal

import promql_parser

from responder.catalogue.model import Alert, LatencySli, RatioSli, RecordingRule, Settings, Slo
from responder.durations import parse_duration

RECORD = "slo:sli_error:ratio_rate{window}"
SPEEDS = {"fast": "BudgetBurnFast", "slow": "BudgetBurnSlow"}
WINDOW = "{{.window}}"
NO_DWELL = (
    "a multi-window burn-rate alert: the short window resets it as soon as the burn stops, so a "
    "dwell time would only page later"
)
_SLOTH_MATCH = "sloth_id, sloth_slo, sloth_service"
TOLERANCE = Decimal("1e-9")


def slo_label(name: str) -> str:
    """BuilderAvailability -> builder_availability: the `slo` label on recorded series."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _windows(settings: Settings) -> list[str]:
    seen = {w for rate in settings.burn_rates.values() for pair in rate.windows for w in (pair.long, pair.short)}
    return sorted(seen, key=parse_duration)


def burn_factor(budget_spent: Decimal, period: str, long: str) -> Decimal:
    """How many times the sustainable rate spends `budget_spent` of the period's budget in `long`."""
    return budget_spent * Decimal(int(parse_duration(period))) / Decimal(int(parse_duration(long)))


def _by(labels: tuple[str, ...]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def _rated(selector: str, window: str, by: tuple[str, ...], slo: Slo) -> str:
    if type(promql_parser.parse(selector)).__name__ != "VectorSelector":
        raise ValueError(
            f"SLO {slo.name}: {selector!r} must be a plain series selector such as "
            'http_requests_total{code=~"5.."}, or a query with {{.window}} where the window goes'
        )
    return f"sum{_by(by)} (rate({selector}[{window}]))"


def error_ratio(slo: Slo, window: str) -> str:
    """The SLI's error ratio over `window`, as a PromQL expression."""
    sli = slo.sli
    if isinstance(sli, RatioSli):
        return sli.error_ratio.replace(WINDOW, window)
    if isinstance(sli, LatencySli):
        matchers = sli.selector.strip().strip("{}")
        count = f"{sli.histogram}_count{{{matchers}}}"
        good = f'{sli.histogram}_bucket{{{matchers}{", " if matchers else ""}le="{sli.threshold}"}}'
        total = _rated(count, window, sli.by, slo)
        return f"(\n  {total}\n  -\n  {_rated(good, window, sli.by, slo)}\n)\n/\n{total}"
    if WINDOW in sli.errors or WINDOW in sli.total:
        return f"({sli.errors.replace(WINDOW, window)})\n/\n({sli.total.replace(WINDOW, window)})"
    return f"{_rated(sli.errors, window, sli.by, slo)}\n/\n{_rated(sli.total, window, sli.by, slo)}"


def sloth_labels(slo: Slo, system: str) -> dict[str, str]:
    service = slo.service or system.replace("_", "-")
    name = slo.slo_id or slo_label(slo.name).replace("_", "-")
    return {
        "slo": slo_label(slo.name),
        "sloth_id": f"{service}-{name}",
        "sloth_service": service,
        "sloth_slo": name,
        **slo.labels,
    }


def _records(slo: Slo, system: str, settings: Settings) -> list[RecordingRule]:
    labels = sloth_labels(slo, system)
    this = f'{{sloth_id="{labels["sloth_id"]}"}}'
    windows = _windows(settings)
    shortest = f"{RECORD.format(window=windows[0])}{this}"
    records = [
        RecordingRule(RECORD.format(window=w), error_ratio(slo, w), {**labels, "sloth_window": w}) for w in windows
    ]
    period_expr = (
        f"sum_over_time({shortest}[{slo.period}])\n/ ignoring (sloth_window)\ncount_over_time({shortest}[{slo.period}])"
    )
    budget = Decimal(1) - slo.objective
    days = _number(Decimal(int(parse_duration(slo.period))) / Decimal(86400))
    period_ratio = f"{RECORD.format(window=slo.period)}{this}"
    meta = {
        RECORD.format(window=slo.period): period_expr,
        "slo:objective:ratio": f"vector({_number(slo.objective)})",
        "slo:error_budget:ratio": f"vector({_number(budget)})",
        "slo:time_period:days": f"vector({days})",
        "slo:current_burn_rate:ratio": (f"{shortest}\n/ on ({_SLOTH_MATCH}) group_left\nslo:error_budget:ratio{this}"),
        "slo:period_burn_rate:ratio": f"{period_ratio}\n/ on ({_SLOTH_MATCH}) group_left\nslo:error_budget:ratio{this}",
        "slo:period_error_budget_remaining:ratio": f"1 - slo:period_burn_rate:ratio{this}",
        "sloth_slo_info": "vector(1)",
    }
    extra = {
        RECORD.format(window=slo.period): {"sloth_window": slo.period},
        "sloth_slo_info": {"sloth_mode": "alert-responder", "sloth_objective": _number(slo.objective * 100)},
    }
    records += [RecordingRule(name, expr, {**labels, **extra.get(name, {})}) for name, expr in meta.items()]
    return records


def _alert(slo: Slo, system: str, settings: Settings, speed: str) -> Alert:
    rate = settings.burn_rates[speed]
    this = f'{{sloth_id="{sloth_labels(slo, system)["sloth_id"]}"}}'
    budget = Decimal(1) - slo.objective
    clauses, factors = [], []
    for pair in rate.windows:
        factor = burn_factor(pair.budget_spent, slo.period, pair.long)
        threshold = _number(factor * budget * (1 + TOLERANCE))
        long_sel = f"max without (sloth_window) ({RECORD.format(window=pair.long)}{this} > {threshold})"
        short_sel = f"max without (sloth_window) ({RECORD.format(window=pair.short)}{this} > {threshold})"
        clauses.append(f"(\n  {long_sel}\nand\n  {short_sel}\n)")
        factors.append(f"{_number(factor)}x over {pair.long}")
    return Alert(
        name=f"{slo.name}{SPEEDS[speed]}",
        expr="\nor\n".join(clauses),
        for_=rate.for_,
        severity=rate.severity,
        action=slo.action,
        why=slo.why,
        summary=f"{slo.description}: error budget burning {speed}",
        description=(
            "Error ratio {{ $value | humanizePercentage }} over the long window burns the "
            f"{_number(slo.objective * 100)}% objective's {slo.period} budget at least {' or '.join(factors)}."
        ),
        runbook_url=slo.runbook_url,
        target=slo.target,
        labels=dict(slo.labels),
        for_exemption=NO_DWELL,
        annotations=dict(slo.annotations),
    )


def expand_slo(slo: Slo, settings: Settings, system: str = "") -> tuple[list[RecordingRule], list[Alert]]:
    """The recording rules (one per window, the period, sloth's meta records) and the enabled
    alerts (fast pages, slow tickets) for one SLO."""
    enabled = [speed for speed, on in (("fast", slo.page), ("slow", slo.ticket)) if on]
    return _records(slo, system, settings), [_alert(slo, system, settings, speed) for speed in enabled]
