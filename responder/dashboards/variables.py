"""Grafana's variables in a panel query, replaced as Grafana would before the query reaches Prometheus.

The linter parses queries with a PromQL parser and the real-Prometheus test runs them; both need
the text Prometheus will see, not the text with `$__rate_interval` and `$instance` in it.
"""

import re

# `$name`, `${name}` and `${name:format}`; Grafana's builtins start with two underscores.
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def substitute(expr: str, rate_interval: str, values: dict[str, str] | None = None) -> str:
    """`expr` with `$__rate_interval` as `rate_interval` and every template variable at its value.

    Variables not in `values` take `.*`, which is what the "All" option of a multi-value variable
    sends (the dashboards set allValue to `.*`), so a query is checked as it runs unfiltered.
    """
    known = {"__rate_interval": rate_interval, "__interval": rate_interval, **(values or {})}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return known.get(name, ".*")

    return _VARIABLE.sub(replace, expr)


def names(expr: str) -> set[str]:
    """The variables `expr` refers to."""
    return {m.group(1) or m.group(2) for m in _VARIABLE.finditer(expr)}
