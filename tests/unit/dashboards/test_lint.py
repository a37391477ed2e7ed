from pathlib import Path

import responder.dashboards.lint as lint
from responder.catalogue.load import load_catalogue
from responder.dashboards.generate import build_all
from responder.dashboards.lint import all_checks, lint_dashboards
from tests.conftest import REPO
from tests.unit.lint_modules import unregistered_untested_or_unexplained


def test_every_check_module_is_registered_tested_and_explained() -> None:
    assert unregistered_untested_or_unexplained(lint, all_checks(), Path(__file__).parent / "lint") == []


def test_the_generated_dashboards_are_lint_clean() -> None:
    assert [str(f) for f in lint_dashboards(build_all(load_catalogue(REPO)))] == []


def test_the_docs_list_every_check() -> None:
    docs = (REPO / "docs/dashboards.md").read_text()
    assert [c.name for c in all_checks() if f"`{c.name}`" not in docs] == []
