import importlib
import pkgutil
from pathlib import Path

import responder.catalogue.lint as lint
from responder.catalogue.lint import all_checks, run_lint
from responder.catalogue.model import load_catalogue
from tests.conftest import REPO


def test_every_check_module_is_registered_tested_and_explained() -> None:
    modules = {m.name for m in pkgutil.iter_modules(lint.__path__)}
    registered = {c.name for c in all_checks()}
    assert len(registered) == len(modules)
    for name in modules:
        check = importlib.import_module(f"responder.catalogue.lint.{name}").CHECK
        assert check.name in registered
        assert len(check.why) > 20, f"{name}: say in one line why the check exists"
        assert (Path(__file__).parent / "lint" / f"test_{name}.py").exists(), f"{name} has no test"


def test_the_catalogue_is_lint_clean() -> None:
    assert [str(f) for f in run_lint(load_catalogue(REPO))] == []


def test_findings_name_the_source_file_rule_and_check(catalogue_root: Path) -> None:
    source = catalogue_root / "rules" / "src" / "shop.yaml"
    source.write_text(source.read_text().replace("for: 5m", "for: 30s"))
    [finding] = run_lint(load_catalogue(catalogue_root))
    assert str(finding).startswith("rules/src/shop.yaml: alert ShopCostHigh: for 30s is shorter")
    assert str(finding).endswith("[for-minimum]")


def test_the_readme_lists_every_check() -> None:
    readme = (REPO / "README.md").read_text()
    assert [c.name for c in all_checks() if f"`{c.name}`" not in readme] == []
