import shutil
from pathlib import Path

import pytest

from responder.catalogue.load import load_catalogue
from responder.dashboards.source import DashboardSourceError, load_sources
from tests.conftest import REPO


def _problems(root: Path) -> list[str]:
    with pytest.raises(DashboardSourceError) as caught:
        load_sources(load_catalogue(root))
    return caught.value.problems


def test_filters_expand_to_one_matcher_per_variable(shop: Path) -> None:
    [source] = load_sources(load_catalogue(shop))
    assert source.rows[0].panels[0].targets[0].expr == 'sum(shop_cost_dollars{instance=~"$instance"})'


def test_an_alert_without_a_unit_and_a_unit_without_an_alert_are_reported(shop: Path) -> None:
    path = shop / "dashboards" / "src" / "shop.yaml"
    path.write_text(path.read_text().replace("ShopCostHigh:", "ShopCostLow:"))
    assert _problems(shop) == [
        "dashboards/src/shop.yaml: alert_units: add ShopCostHigh, the unit of the quantity it alerts on",
        "dashboards/src/shop.yaml: alert_units: ShopCostLow is not an alert of shop; remove it",
    ]


def test_a_system_without_a_dashboard_and_a_dashboard_without_a_system_are_reported(shop: Path) -> None:
    shutil.move(shop / "dashboards" / "src" / "shop.yaml", shop / "dashboards" / "src" / "shops.yaml")
    assert _problems(shop) == [
        "dashboards/src/shops.yaml: no system 'shops' in rules/src/; rename or delete it",
        "dashboards/src/shop.yaml: missing; every system in rules/src/ needs a dashboard",
    ]


def test_a_panel_without_a_unit_is_refused_by_the_schema(shop: Path) -> None:
    path = shop / "dashboards" / "src" / "shop.yaml"
    path.write_text(path.read_text().replace("        unit: currencyUSD\n", ""))
    assert _problems(shop) == ["dashboards/src/shop.yaml: rows[0].panels[0]: 'unit' is a required property"]


def test_the_repository_has_a_dashboard_for_every_system() -> None:
    catalogue = load_catalogue(REPO)
    assert {s.system for s in load_sources(catalogue)} == {s.system for s in catalogue.systems}
