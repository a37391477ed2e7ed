import importlib
import pkgutil
from pathlib import Path

import responder.dashboards.lint as lint
from responder.catalogue.model import load_catalogue
from responder.dashboards.generate import build_all
from responder.dashboards.lint import all_checks, lint_dashboards
from tests.conftest import REPO


def test_every_check_module_is_registered_tested_and_explained() -> None:
    modules = {m.name for m in pkgutil.iter_modules(lint.__path__)}
    registered = {c.name for c in all_checks()}
    assert len(registered) == len(modules)
    for name in modules:
        check = importlib.import_module(f"responder.dashboards.lint.{name}").CHECK
        assert check.name in registered
        assert len(check.why) > 20, f"{name}: say in one line why the check exists"
        assert (Path(__file__).parent / "lint" / f"test_{name}.py").exists(), f"{name} has no test"


def test_the_generated_dashboards_are_lint_clean() -> None:
    assert [str(f) for f in lint_dashboards(build_all(load_catalogue(REPO)))] == []


def test_the_readme_lists_every_check() -> None:
    readme = (REPO / "README.md").read_text()
    assert [c.name for c in all_checks() if f"`{c.name}`" not in readme] == []
