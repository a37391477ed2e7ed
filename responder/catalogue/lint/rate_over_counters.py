"""rate/irate/increase/resets only over counters; deriv/delta/predict_linear only over gauges.

The type comes from evidence (the catalogue's `metric_types`, then the reviewed table in
`responder.catalogue.metric_types`), the suffix last; a series of unknown type is never reported,
since a counter named before the conventions (`kubelet_evictions`) is still a counter.
"""

from collections.abc import Iterator

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.catalogue.metric_types import MetricType

_COUNTER_FUNCTIONS = ("rate", "irate", "increase", "resets")
_GAUGE_FUNCTIONS = ("deriv", "delta", "idelta", "predict_linear")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for call in promql.calls(rule.ast, *_COUNTER_FUNCTIONS):
        for name in promql.metric_names(call):
            if ctx.type_of(name) == MetricType.GAUGE:
                yield (
                    f"{call.func.name}() over {name}, which is a gauge, not a counter; compare the "
                    "gauge directly or use deriv() (declare it under metric_types if it is a counter)"
                )
    for call in promql.calls(rule.ast, *_GAUGE_FUNCTIONS):
        for name in promql.metric_names(call):
            if ctx.type_of(name) == MetricType.COUNTER:
                yield (
                    f"{call.func.name}() over the counter {name} breaks at every counter reset; "
                    "use rate() or increase()"
                )


CHECK = per_rule(
    "rate-over-counters",
    "rate() of a gauge and deriv() of a counter both give numbers that mean nothing.",
    _check,
)
