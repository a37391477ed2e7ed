"""SLO alerts fire at the minute they should, through the real promtool.

The catalogue here is sloth's getting-started spec imported with `import-sloth`, plus SLOs that
use what sloth does not have (a 28-day period beside a 30-day one, a latency SLI read from a
histogram's buckets, an SLI per service, the ticket alert turned off). Each scenario names the
first minute an alert fires, asserted as "not at the minute before, firing at that minute", or
that it never fires at all.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from responder.catalogue import rules
from responder.catalogue.lint import lint_report
from responder.catalogue.load import load_catalogue
from responder.catalogue.sloth import import_spec
from responder.yamlio import dump_yaml, load_yaml
from tests.conftest import REPO

SPEC = REPO / "tests" / "unit" / "catalogue" / "sloth" / "getting-started.yml"
SHOP = """\
system: shop
title: Shop
team: shop-sre
slos:
{checkout}  - name: ShopLatency
    objective: 0.99
    latency: {histogram: shop_request_seconds, threshold: 0.5, selector: '{job="shop"}'}
    description: 99% of shop requests under 500ms
    action: INVESTIGATE
    why: Slowness has many causes; a human looks first.
    ticket: false
  - name: ApiByService
    objective: 0.99
    errors: shop_api_total{job="shop", code="500"}
    total: shop_api_total{job="shop"}
    by: [service]
    description: API availability per service
    action: INVESTIGATE
    why: One SLO per service; a human looks at the one burning.
"""
CHECKOUT = """\
  - name: Checkout{name}
    objective: 0.999
    period: {period}
    errors: shop_requests_total{{job="shop", code="500"}}
    total: shop_requests_total{{job="shop"}}
    description: Checkout availability over {period}
    action: INVESTIGATE
    why: A budget burn has many causes; a human looks first.
"""
SHOP = SHOP.replace(
    "{checkout}", "".join(CHECKOUT.format(name=n, period=p) for n, p in (("Monthly", "30d"), ("FourWeekly", "28d")))
)
OK = 'http_request_duration_seconds_count{job="myservice", code="200"}'
BAD = 'http_request_duration_seconds_count{job="myservice", code="500"}'
PAGE, TICKET = "MyServiceHighErrorRateBudgetBurnFast", "MyServiceHighErrorRateBudgetBurnSlow"
SHOP_OK, SHOP_BAD = 'shop_requests_total{job="shop", code="200"}', 'shop_requests_total{job="shop", code="500"}'
SHOP_14X_OK, SHOP_14X_BAD = "0+10000x300 3009860+9860x89", "0x300 140+140x89"
FAST, SLOW = "ShopLatencyBudgetBurnFast", "ShopLatencyBudgetBurnSlow"
BUCKET, COUNT = 'shop_request_seconds_bucket{job="shop", le="0.5"}', 'shop_request_seconds_count{job="shop"}'


# Recordings before alerts in every step; promtool otherwise picks the order at random and an alert
# then reads the recordings a minute late.
ORDER = {"group_eval_order": [f"{s}.{g}" for s in ("myservice", "shop") for g in ("recording", "alerts")]}


@dataclass(frozen=True)
class Scenario:
    name: str
    series: dict[str, str]
    alert: str
    fires_from: int | None  # the first firing minute; None: never within `until`
    until: int
    by: str = ""  # `service="b"`: the one series of the alert that fires


SCENARIOS = [
    # 6000 requests/min, 1h clean, then a total outage: both fast windows pass 14.4x in the first minute.
    Scenario("page on a total outage", {OK: "0+6000x60 360000x30", BAD: "0x60 6000+6000x29"}, PAGE, 61, 90),
    Scenario("ticket on a total outage", {OK: "0+6000x60 360000x30", BAD: "0x60 6000+6000x29"}, TICKET, 61, 90),
    # 24 of 6000 fail (0.4% = 4x): the 1d/2h ticket pair fires at once, the page never does.
    Scenario("no page on a steady 4x burn", {OK: "0+5976x480", BAD: "0+24x480"}, PAGE, None, 480),
    Scenario("ticket on a steady 4x burn", {OK: "0+5976x480", BAD: "0+24x480"}, TICKET, 1, 480),
    # 36 of 6000 fail (0.6% = exactly 6x) for 8h: the 6h/30m pair sits at its threshold and never pages.
    Scenario("no page at exactly 6x", {OK: "0+5964x480", BAD: "0+36x480"}, PAGE, None, 480),
    # 6 of 6000 fail (0.1% = exactly 1x) for 8h: the 3d/6h ticket pair sits at its threshold.
    Scenario("no ticket at exactly 1x", {OK: "0+5994x480", BAD: "0+6x480"}, TICKET, None, 480),
    Scenario("no alert without traffic", {OK: "0x120", BAD: "0x120"}, TICKET, None, 120),
    # 10000 requests/min, 5h clean, then 140 fail (14x) for 90m: over 28 days the 1h factor is 13.44
    # and pages once the 1h window is mostly burn; over 30 days it is 14.4 and never does (the 6h
    # window, at 3.5x at most, stays under both 5.6x and 6x).
    Scenario(
        "28-day period pages at 14x",
        {SHOP_OK: SHOP_14X_OK, SHOP_BAD: SHOP_14X_BAD},
        "CheckoutFourWeeklyBudgetBurnFast",
        358,  # 58 minutes into the burn: 14 x 58/60 passes 13.44
        390,
    ),
    Scenario(
        "30-day period holds at 14x",
        {SHOP_OK: SHOP_14X_OK, SHOP_BAD: SHOP_14X_BAD},
        "CheckoutMonthlyBudgetBurnFast",
        None,
        390,
    ),
    # 20% of requests slower than 500ms against a 99% objective: the latency SLI pages at once.
    Scenario("latency from histogram buckets", {BUCKET: "0+800x120", COUNT: "0+1000x120"}, FAST, 1, 120),
    # 6% slower (exactly 6x): no page.
    Scenario("latency exactly at 6x", {BUCKET: "0+940x480", COUNT: "0+1000x480"}, FAST, None, 480),
    # Service b fails entirely from 31m, service a is healthy: only b's alert fires, at 32m, when the
    # 6h window (all data so far: 2000 of 32000 requests, 6.25%) passes 6x of the 1% budget.
    Scenario(
        "one alert per service",
        {
            'shop_api_total{job="shop", service="a", code="200"}': "0+1000x60",
            'shop_api_total{job="shop", service="b", code="200"}': "0+1000x30 30000x30",
            'shop_api_total{job="shop", service="b", code="500"}': "0x30 1000+1000x29",
        },
        "ApiByServiceBudgetBurnFast",
        32,
        60,
        by='service="b"',
    ),
]


def _firing(scenario: Scenario) -> str:
    selector = f'ALERTS{{alertname="{scenario.alert}", alertstate="firing"}}'
    return f"count by (service) ({selector})" if scenario.by else f"count({selector})"


def _cases(scenario: Scenario) -> list[dict[str, object]]:
    labels = f"{{{scenario.by}}}" if scenario.by else "{}"
    if scenario.fires_from is None:
        ever = f'count_over_time(ALERTS{{alertname="{scenario.alert}", alertstate="firing"}}[{scenario.until}m])'
        return [{"expr": ever, "eval_time": f"{scenario.until}m", "exp_samples": []}]
    firing = [{"labels": labels, "value": 1}]
    return [
        {"expr": _firing(scenario), "eval_time": f"{scenario.fires_from - 1}m", "exp_samples": []},
        {"expr": _firing(scenario), "eval_time": f"{scenario.fires_from}m", "exp_samples": firing},
        {"expr": _firing(scenario), "eval_time": f"{scenario.until}m", "exp_samples": firing},
    ]


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("slo")
    (root / "rules" / "src").mkdir(parents=True)
    (root / "rules" / "catalogue.yaml").write_text((REPO / "rules" / "catalogue.yaml").read_text())
    imported = import_spec(load_yaml(SPEC))
    (root / "rules" / "src" / "myservice.yaml").write_text(dump_yaml(imported.source))
    (root / "rules" / "src" / "shop.yaml").write_text(SHOP)
    catalogue = load_catalogue(root)
    assert [str(f) for f in lint_report(catalogue).findings] == []
    paths = []
    for generated in rules.generate(catalogue):
        if generated.path.parent == rules.RULES_DIR:
            path = root / generated.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generated.text)
            paths.append(path)
    return paths


def test_the_ticket_alert_can_be_turned_off(rule_files: list[Path]) -> None:
    text = "".join(p.read_text() for p in rule_files)
    assert FAST in text and SLOW not in text


@pytest.mark.promtool
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_burn_rate_alerts_fire_at_the_expected_minute(
    promtool: str, rule_files: list[Path], scenario: Scenario
) -> None:
    group = {
        "name": f"{scenario.alert}: {scenario.name}",
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in scenario.series.items()],
        "promql_expr_test": _cases(scenario),
    }
    test_file = rule_files[0].parent / "scenario.test.yml"
    test_file.write_text(dump_yaml({"rule_files": [str(p) for p in rule_files], **ORDER, "tests": [group]}))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
