from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from responder.catalogue.load import CatalogueError, load_catalogue
from responder.catalogue.model import EventsSli, LatencySli, RatioSli, Slo
from responder.catalogue.slo import NO_DWELL, burn_factor, error_ratio, expand_slo, slo_label
from tests.conftest import REPO

SLO = Slo(
    name="ShopAvailability",
    objective=Decimal("0.999"),
    sli=EventsSli('http_requests_total{code=~"5.."}', "http_requests_total"),
    description="Shop availability 99.9%",
    action="INVESTIGATE",
    why="evidence first",
    runbook_url="https://runbooks.example.com/shop",
    target=None,
)
SLOTH = {
    "slo": "shop_availability",
    "sloth_id": "shop-shop-availability",
    "sloth_service": "shop",
    "sloth_slo": "shop-availability",
}


def _expand(slo: Slo = SLO) -> tuple[dict[str, str], dict[str, str]]:
    records, alerts = expand_slo(slo, load_catalogue(REPO).settings, "shop")
    return {f"{r.record}/{r.labels.get('sloth_window', '')}": r.expr for r in records}, {a.name: a.expr for a in alerts}


def test_slo_labels_are_snake_case() -> None:
    assert slo_label("PlatformV2Availability") == "platform_v2_availability"


def test_one_recording_rule_per_window_with_sloths_labels() -> None:
    records, _ = expand_slo(SLO, load_catalogue(REPO).settings, "shop")
    windows = [r.labels["sloth_window"] for r in records if r.record.startswith("slo:sli_error")]
    assert windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert records[0].labels == {**SLOTH, "sloth_window": "5m"}
    assert records[0].expr == (
        'sum (rate(http_requests_total{code=~"5.."}[5m]))\n/\nsum (rate(http_requests_total[5m]))'
    )


def test_sloths_meta_records_are_generated() -> None:
    records, _ = _expand()
    assert records["slo:objective:ratio/"] == "vector(0.999)"
    assert records["slo:error_budget:ratio/"] == "vector(0.001)"
    assert records["slo:time_period:days/"] == "vector(30)"
    assert records["slo:period_error_budget_remaining:ratio/"].startswith("1 - slo:period_burn_rate:ratio{")
    assert "sum_over_time(slo:sli_error:ratio_rate5m" in records["slo:sli_error:ratio_rate30d/30d"]
    assert "group_left" in records["slo:current_burn_rate:ratio/"]
    assert "sloth_slo_info/" in records


def test_burn_factors_follow_from_budget_and_period() -> None:
    assert burn_factor(Decimal("0.02"), "30d", "1h") == Decimal("14.4")
    assert burn_factor(Decimal("0.02"), "28d", "1h") == Decimal("13.44")
    assert burn_factor(Decimal("0.1"), "28d", "3d") * 3 == Decimal("2.8")


def test_burn_thresholds_are_exact_and_fire_without_dwell_time() -> None:
    _, (fast, slow) = expand_slo(SLO, load_catalogue(REPO).settings, "shop")
    assert (fast.name, fast.severity, fast.for_) == ("ShopAvailabilityBudgetBurnFast", "critical", "0s")
    assert fast.for_exemption == NO_DWELL
    assert 'slo:sli_error:ratio_rate1h{sloth_id="shop-shop-availability"} > 0.0144000000144' in fast.expr
    assert 'slo:sli_error:ratio_rate30m{sloth_id="shop-shop-availability"} > 0.006000000006' in fast.expr
    assert (slow.name, slow.severity) == ("ShopAvailabilityBudgetBurnSlow", "warning")
    assert 'slo:sli_error:ratio_rate3d{sloth_id="shop-shop-availability"} > 0.001000000001' in slow.expr
    assert "{{" not in fast.summary


def test_a_28_day_period_lowers_the_factors() -> None:
    _, alerts = _expand(replace(SLO, period="28d"))
    assert "> 0.01344000001344" in alerts["ShopAvailabilityBudgetBurnFast"]


def test_page_and_ticket_can_be_turned_off_and_labels_added() -> None:
    records, alerts = expand_slo(
        replace(SLO, ticket=False, labels={"tier": "1"}, annotations={"playbook": "x"}),
        load_catalogue(REPO).settings,
        "shop",
    )
    [page] = alerts
    assert page.name.endswith("Fast") and page.labels == {"tier": "1"} and page.annotations == {"playbook": "x"}
    assert all(r.labels["tier"] == "1" for r in records)
    assert expand_slo(replace(SLO, page=False, ticket=False), load_catalogue(REPO).settings, "shop")[1] == []


def test_sli_forms() -> None:
    by_service = replace(SLO, sli=EventsSli("errors_total", "requests_total", ("service",)))
    assert error_ratio(by_service, "5m") == (
        "sum by (service) (rate(errors_total[5m]))\n/\nsum by (service) (rate(requests_total[5m]))"
    )
    sloth_events = replace(SLO, sli=EventsSli("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))"))
    assert error_ratio(sloth_events, "1h") == "(sum(rate(e[1h])))\n/\n(sum(rate(t[1h])))"
    raw = replace(SLO, sli=RatioSli("1 - avg_over_time(ok[{{.window}}])"))
    assert error_ratio(raw, "30m") == "1 - avg_over_time(ok[30m])"
    latency = replace(SLO, sli=LatencySli("http_seconds", "0.3", '{job="api"}'))
    expr = error_ratio(latency, "5m")
    assert 'sum (rate(http_seconds_bucket{job="api", le="0.3"}[5m]))' in expr
    assert expr.endswith('/\nsum (rate(http_seconds_count{job="api"}[5m]))')


def test_an_aggregated_slo_query_is_refused() -> None:
    bad = replace(SLO, sli=EventsSli("sum(rate(x_total[5m]))", "x_total"))
    with pytest.raises(ValueError, match="must be a plain series selector"):
        expand_slo(bad, load_catalogue(REPO).settings, "shop")


def test_a_refused_slo_query_names_the_source(catalogue_root: Path) -> None:
    source = catalogue_root / "rules" / "src" / "shop.yaml"
    slo = (
        "slos:\n  - name: ShopAvailability\n    objective: 0.99\n    errors: sum(x_total)\n    total: x_total\n"
        "    description: d\n    action: INVESTIGATE\n    why: evidence first, always\n"
    )
    source.write_text(source.read_text() + slo)
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(catalogue_root)
    assert raised.value.problems[0].startswith("rules/src/shop.yaml: SLO ShopAvailability:")
