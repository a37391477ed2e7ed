"""`responder rules build` and `check` refuse a catalogue with an expression Prometheus would not load."""

import re
from pathlib import Path

import pytest

from responder.cli import main


def test_rules_build_refuses_an_expression_that_does_not_parse(
    catalogue_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = catalogue_root / "rules" / "src" / "shop.yaml"
    assert main(["rules", "--root", str(catalogue_root), "build"]) == 0
    capsys.readouterr()
    written = (catalogue_root / "rules" / "shop.rules.yml").read_text()
    source.write_text(re.sub(r"expr: shop_cost_dollars.* > 10", "expr: deriv(x[5m] > 1e9", source.read_text()))
    assert main(["rules", "--root", str(catalogue_root), "build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("refusing to generate rules: Prometheus would not load these expressions:\n")
    assert "rules/src/shop.yaml: alert ShopCostHigh: 'deriv(x[5m] > 1e9' does not parse" in err
    assert (catalogue_root / "rules" / "shop.rules.yml").read_text() == written
    assert main(["rules", "--root", str(catalogue_root), "check"]) == 1
