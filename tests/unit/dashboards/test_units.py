"""Units are Grafana's own ids: a made-up one is refused when the sources are read, by every command."""

from pathlib import Path

import pytest

from responder import cli
from responder.dashboards import units


@pytest.mark.parametrize("command", ["build", "check", "lint"])
def test_a_made_up_alert_unit_is_refused_with_the_nearest_real_one(
    shop: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = shop / "dashboards" / "src" / "shop.yaml"
    source.write_text(source.read_text().replace("ShopCostHigh: currencyUSD", "ShopCostHigh: bytez"))
    assert cli.main(["dashboards", "--root", str(shop), command]) == 1
    err = capsys.readouterr().err
    assert err.startswith("the dashboard sources have errors:\n")
    assert (
        "dashboards/src/shop.yaml: alert_units.ShopCostHigh: 'bytez' is not a Grafana unit — did you mean 'bytes'?"
        in err
    )
    assert not (shop / "dashboards" / "shop.json").exists()


def test_a_made_up_panel_unit_is_named_by_row_and_panel(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = shop / "dashboards" / "src" / "shop.yaml"
    source.write_text(source.read_text().replace("unit: currencyUSD", "unit: dollars"))
    assert cli.main(["dashboards", "--root", str(shop), "build"]) == 1
    assert "rows[0] (Spend).panels[0] (Spend).unit: 'dollars' is not a Grafana unit" in capsys.readouterr().err


@pytest.mark.parametrize("unit", ["s", "bytes", "percentunit", "reqps", "short", "currencyUSD", "suffix:jobs"])
def test_grafana_units_and_custom_units_pass(unit: str) -> None:
    assert units.problem(unit) is None
