from pathlib import Path

import pytest

from responder import cli


def _run(root: Path, *command: str) -> int:
    return cli.main(["dashboards", "--root", str(root), *command])


def test_build_then_check_then_lint(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(shop, "check") == 1
    assert "dashboards/shop.json: missing; run `responder dashboards build`" in capsys.readouterr().err
    assert _run(shop, "build") == 0
    assert capsys.readouterr().out == "wrote dashboards/shop.json\n"
    assert _run(shop, "check") == 0
    assert _run(shop, "lint") == 0
    assert capsys.readouterr().out.endswith("lint clean: 2 panels in 1 dashboards\n")


def test_lint_findings_fail_with_the_check_named(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = shop / "dashboards" / "src" / "shop.yaml"
    fixed_window = "{expr: 'sum(rate(shop_cost_dollars[5m]))'}"
    source.write_text(source.read_text().replace("{expr: 'sum(shop_cost_dollars{$filters})'}", fixed_window))
    assert _run(shop, "lint") == 1
    err = capsys.readouterr().err
    assert err.startswith("2 lint finding(s):")
    assert "[rate-interval]" in err
    assert "[template-variables]" in err


def test_a_broken_source_is_reported_by_file(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "dashboards" / "src" / "shop.yaml").write_text("title: [")
    assert _run(shop, "build") == 1
    err = capsys.readouterr().err
    assert err.startswith("the dashboard sources have errors:\n  dashboards/src/shop.yaml: invalid YAML")
