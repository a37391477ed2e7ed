from pathlib import Path

import responder.catalogue.lint as lint
from responder.catalogue.lint import all_checks, lint_report, run_lint
from responder.catalogue.load import load_catalogue
from tests.conftest import REPO
from tests.unit.lint_modules import unregistered_untested_or_unexplained


def test_every_check_module_is_registered_tested_and_explained() -> None:
    assert unregistered_untested_or_unexplained(lint, all_checks(), Path(__file__).parent / "lint") == []


def test_the_catalogue_is_lint_clean() -> None:
    assert [str(f) for f in run_lint(load_catalogue(REPO))] == []


def _shop(catalogue_root: Path, old: str, new: str) -> None:
    """Change the example source, its mutating alert scoped to a job as the lint requires."""
    source = catalogue_root / "rules" / "src" / "shop.yaml"
    text = source.read_text().replace("expr: shop_cost_dollars > 10", 'expr: shop_cost_dollars{job="shop"} > 10')
    source.write_text(text.replace(old, new))


def test_findings_name_the_source_file_rule_and_check(catalogue_root: Path) -> None:
    _shop(catalogue_root, "for: 5m", "for: 30s")
    [finding] = run_lint(load_catalogue(catalogue_root))
    assert str(finding).startswith("rules/src/shop.yaml:5: error: alert ShopCostHigh: for 30s is shorter")
    assert str(finding).endswith("[for-minimum]")


def test_the_docs_list_every_check() -> None:
    docs = (REPO / "docs/catalogue.md").read_text()
    assert [c.name for c in all_checks() if f"`{c.name}`" not in docs] == []


def test_the_report_says_what_it_read_and_which_checks_ran() -> None:
    report = lint_report(load_catalogue(REPO))
    summary = report.summary()
    assert summary.startswith("0 error(s), 0 warning(s) in ")
    assert f"{report.alerts} alerts and {report.records} recording rules" in summary
    assert all(c.name in summary for c in all_checks())


def test_a_reviewed_for_exemption_in_the_source_is_honoured(catalogue_root: Path) -> None:
    exempt = "for: 30s\n    for_exemption: the cost only grows within a day, so it cannot flap"
    _shop(catalogue_root, "for: 5m", exempt)
    assert run_lint(load_catalogue(catalogue_root)) == []
