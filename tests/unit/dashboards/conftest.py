"""A catalogue with one small system (tests/conftest.py's shop) and a dashboard source for it."""

from pathlib import Path

import pytest

SHOP_DASHBOARD = """\
title: Shop
variables:
  - {label: instance, values_from: shop_cost_dollars}
rows:
  - title: Spend
    panels:
      - title: Spend
        unit: currencyUSD
        description: What the shop spends.
        targets:
          - {expr: 'sum(shop_cost_dollars{$filters})'}
alert_units:
  ShopCostHigh: currencyUSD
"""


@pytest.fixture
def shop(catalogue_root: Path) -> Path:
    (catalogue_root / "dashboards" / "src").mkdir(parents=True)
    (catalogue_root / "dashboards" / "src" / "shop.yaml").write_text(SHOP_DASHBOARD)
    return catalogue_root
