from pathlib import Path

import responder.catalogue.lint as lint
from responder.catalogue.lint import all_checks, run_lint
from responder.catalogue.load import load_catalogue
from tests.conftest import REPO
from tests.unit.lint_modules import unregistered_untested_or_unexplained


def test_every_check_module_is_registered_tested_and_explained() -> None:
    assert unregistered_untested_or_unexplained(lint, all_checks(), Path(__file__).parent / "lint") == []


def test_the_catalogue_is_lint_clean() -> None:
    assert [str(f) for f in run_lint(load_catalogue(REPO))] == []


def test_findings_name_the_source_file_rule_and_check(catalogue_root: Path) -> None:
    source = catalogue_root / "rules" / "src" / "shop.yaml"
    source.write_text(source.read_text().replace("for: 5m", "for: 30s"))
    [finding] = run_lint(load_catalogue(catalogue_root))
    assert str(finding).startswith("rules/src/shop.yaml: alert ShopCostHigh: for 30s is shorter")
    assert str(finding).endswith("[for-minimum]")


def test_the_docs_list_every_check() -> None:
    docs = (REPO / "docs/catalogue.md").read_text()
    assert [c.name for c in all_checks() if f"`{c.name}`" not in docs] == []
