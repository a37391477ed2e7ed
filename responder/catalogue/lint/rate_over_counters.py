"""rate/irate/increase only over counters; deriv/delta/predict_linear only over gauges."""

from collections.abc import Iterator

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_COUNTER_FUNCTIONS = ("rate", "irate", "increase", "resets")
_GAUGE_FUNCTIONS = ("deriv", "delta", "idelta", "predict_linear")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for call in promql.calls(rule.ast, *_COUNTER_FUNCTIONS):
        for name in promql.metric_names(call):
            if not promql.is_counter_name(name) and name not in ctx.recorded_names:
                yield (
                    f"{call.func.name}() over {name}, which is not a counter (no _total, _count, "
                    "_sum or _bucket suffix); compare the gauge directly or use deriv()"
                )
    for call in promql.calls(rule.ast, *_GAUGE_FUNCTIONS):
        for name in promql.metric_names(call):
            if promql.is_counter_name(name):
                yield (
                    f"{call.func.name}() over the counter {name} breaks at every counter reset; "
                    "use rate() or increase()"
                )


CHECK = per_rule(
    "rate-over-counters",
    "rate() of a gauge and deriv() of a counter both give numbers that mean nothing.",
    _check,
)
