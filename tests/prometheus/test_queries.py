"""Every panel query, template variable, alert and recording rule, run by a real Prometheus.

Prometheus (the Debian package's binary) starts on 127.0.0.1 on a backfilled TSDB holding 26
hours of synthetic history for every metric the catalogue and dashboards use (series.yaml: a bad
day on which every alert's condition holds), with the generated rule files loaded. Each query
runs through the HTTP API with Grafana's variables substituted as Grafana would send them, and
a query that errors or returns no series fails the test: this catches queries that parse but can
never show anything (a misspelt metric, a label that does not exist, sides of a `/` that do not
match).
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from responder.catalogue import promql
from responder.catalogue.load import load_catalogue
from responder.catalogue.model import Catalogue
from responder.dashboards.build import BuiltDashboard
from responder.dashboards.generate import build_all
from responder.dashboards.lint_base import queries
from tests.conftest import REPO, real_binary
from tests.prometheus import server
from tests.prometheus.server import api, rules_evaluated
from tests.prometheus.synthetic import load, openmetrics, series_names

SERIES = Path(__file__).with_name("series.yaml")
RATE_INTERVAL = "1m"  # what Grafana sends for a 15s scrape interval: four scrapes
CATALOGUE = load_catalogue(REPO)
DASHBOARDS = {built.system: built for built in build_all(CATALOGUE)}


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expr: str, *, range_seconds: int = 0) -> tuple[list[Any], str | None]:
        """The result of `expr` now (or over the last `range_seconds`), or Prometheus's error."""
        now = time.time()
        if range_seconds:
            path = "/api/v1/query_range"
            params = {"query": expr, "start": f"{now - range_seconds:.3f}", "end": f"{now:.3f}", "step": "60"}
        else:
            path, params = "/api/v1/query", {"query": expr, "time": f"{now:.3f}"}
        data = urllib.parse.urlencode(params).encode()
        try:
            with urllib.request.urlopen(self.url + path, data=data, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        if body.get("status") != "success":
            return [], f"{body.get('errorType')}: {body.get('error')}"
        return list(body["data"]["result"]), None

    def problem(self, what: str, expr: str, *, range_seconds: int = 0) -> str | None:
        result, error = self.query(expr, range_seconds=range_seconds)
        if error:
            return f"{what}: {error}\n    {expr}"
        if not result:
            return f"{what}: no series\n    {expr}"
        return None


def _rules(prometheus: Prometheus) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = api(prometheus.url, "/api/v1/rules")["groups"]
    return groups


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary, promtool = real_binary("prometheus"), real_binary("promtool")
    history = openmetrics(load(SERIES), time.time() - 5)
    rule_files = sorted((REPO / "rules").glob("*.rules.yml"))
    root = tmp_path_factory.mktemp("prometheus")
    with server.prometheus(binary, promtool, root, history, rule_files, ready=rules_evaluated) as url:
        yield Prometheus(url)


def _queried_metric_names(catalogue: Catalogue, dashboards: list[BuiltDashboard]) -> set[str]:
    exprs = [a.expr for s in catalogue.systems for a in s.alerts]
    exprs += [r.expr for s in catalogue.systems for r in s.recording_rules]
    exprs += [q.expr for built in dashboards for q in queries(built, RATE_INTERVAL)]
    exprs += [_values_from(v) for v in _query_variables(dashboards)]
    return {name for expr in exprs for name in promql.metric_names(promql.parse(expr)) if ":" not in name}


def _values_from(variable: dict[str, Any]) -> str:
    """The series selector of `label_values(<selector>, <label>)`."""
    return str(variable["query"])[len("label_values(") :].rsplit(",", 1)[0]


def _query_variables(dashboards: list[BuiltDashboard]) -> list[dict[str, Any]]:
    return [v for b in dashboards for v in b.model["templating"]["list"] if v["type"] == "query"]


def test_the_synthetic_history_covers_every_metric_queried() -> None:
    missing = _queried_metric_names(CATALOGUE, list(DASHBOARDS.values())) - series_names(load(SERIES))
    assert sorted(missing) == [], f"add these metrics to {SERIES.relative_to(REPO)}"


@pytest.mark.parametrize("system", sorted(DASHBOARDS))
def test_every_panel_query_returns_series(prometheus: Prometheus, system: str) -> None:
    built = DASHBOARDS[system]
    problems = [
        prometheus.problem(f"panel {q.panel['id']} ({q.panel['title']}) query {q.ref_id}", q.expr, range_seconds=3600)
        for q in queries(built, RATE_INTERVAL)
    ]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("system", sorted(DASHBOARDS))
def test_every_template_variable_lists_values(prometheus: Prometheus, system: str) -> None:
    problems = []
    for variable in _query_variables([DASHBOARDS[system]]):
        query = f"group by ({variable['name']}) ({_values_from(variable)})"
        problems.append(prometheus.problem(f"variable {variable['name']}", query))
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("system", [s.system for s in CATALOGUE.systems])
def test_every_alert_expression_returns_series_on_the_bad_day(prometheus: Prometheus, system: str) -> None:
    alerts = CATALOGUE.system(system).alerts
    problems = [prometheus.problem(f"alert {a.name} ({a.severity})", a.expr) for a in alerts]
    assert [p for p in problems if p] == []


def test_every_recording_rule_returns_series_and_records_them(prometheus: Prometheus) -> None:
    problems = []
    for system in CATALOGUE.systems:
        for rule in system.recording_rules:
            selector = ",".join(f'{k}="{v}"' for k, v in sorted(rule.labels.items()))
            problems.append(prometheus.problem(f"record {rule.record} expression", rule.expr))
            problems.append(prometheus.problem(f"record {rule.record} series", f"{rule.record}{{{selector}}}"))
    assert [p for p in problems if p] == []


def test_prometheus_loaded_every_generated_rule_and_evaluates_it_without_error(prometheus: Prometheus) -> None:
    rules = [r for g in _rules(prometheus) for r in g["rules"]]
    expected = sum(len(s.alerts) + len(s.recording_rules) for s in CATALOGUE.systems)
    assert len(rules) == expected
    assert [(r["name"], r.get("lastError")) for r in rules if r.get("health") == "err"] == []
