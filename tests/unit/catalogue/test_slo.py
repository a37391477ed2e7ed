from decimal import Decimal
from pathlib import Path

from responder.catalogue.load import load_catalogue
from responder.catalogue.model import Slo
from responder.catalogue.slo import expand_slo, slo_label
from tests.conftest import REPO

SLO = Slo(
    name="ShopAvailability",
    objective=Decimal("0.999"),
    errors='http_requests_total{code=~"5.."}',
    total="http_requests_total",
    description="Shop availability 99.9%",
    action="INVESTIGATE",
    why="evidence first",
    runbook_url="https://runbooks.example.com/shop",
    target=None,
)


def test_slo_labels_are_snake_case() -> None:
    assert slo_label("PlatformV2Availability") == "platform_v2_availability"


def test_one_recording_rule_per_window_shortest_first() -> None:
    settings = load_catalogue(REPO).settings
    records, _ = expand_slo(SLO, settings)
    assert [r.record for r in records] == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    ]
    assert records[0].labels == {"slo": "shop_availability"}
    assert records[0].expr == ('sum(rate(http_requests_total{code=~"5.."}[5m]))\n/\nsum(rate(http_requests_total[5m]))')


def test_burn_thresholds_are_factor_times_budget_written_exactly() -> None:
    _, (fast, slow) = expand_slo(SLO, load_catalogue(REPO).settings)
    assert (fast.name, fast.severity, fast.for_) == (
        "ShopAvailabilityBudgetBurnFast",
        "critical",
        "2m",
    )
    assert 'slo:sli_error:ratio_rate1h{slo="shop_availability"} > 0.0144' in fast.expr
    assert 'slo:sli_error:ratio_rate30m{slo="shop_availability"} > 0.006' in fast.expr
    assert (slow.name, slow.severity) == ("ShopAvailabilityBudgetBurnSlow", "warning")
    assert 'slo:sli_error:ratio_rate3d{slo="shop_availability"} > 0.001' in slow.expr
    assert "{{" not in fast.summary


def test_an_aggregated_slo_query_is_refused(catalogue_root: Path) -> None:
    bad = Slo(**{**SLO.__dict__, "errors": "sum(rate(x_total[5m]))"})
    try:
        expand_slo(bad, load_catalogue(catalogue_root).settings)
    except ValueError as exc:
        assert "must be a plain series selector" in str(exc)
    else:
        raise AssertionError("an aggregated SLO query was accepted")
