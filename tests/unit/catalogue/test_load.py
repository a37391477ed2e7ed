from pathlib import Path

import pytest

from responder.catalogue.load import CatalogueError, load_catalogue
from tests.conftest import MINIMAL_SOURCE, REPO


def _source(root: Path) -> Path:
    return root / "rules" / "src" / "shop.yaml"


def test_the_minimal_source_loads_with_defaults(catalogue_root: Path) -> None:
    system = load_catalogue(catalogue_root).system("shop")
    [alert] = system.alerts
    assert system.scrape_interval == "15s"
    assert alert.runbook_url == "https://runbooks.example.com/alert-responder/shop.md#shopcosthigh"
    assert alert.target is not None
    assert alert.target.annotations() == {
        "target_namespace": "shop",
        "target_deployment": "checkout",
    }


def test_a_schema_error_names_file_alert_and_field(catalogue_root: Path) -> None:
    _source(catalogue_root).write_text(MINIMAL_SOURCE.replace("severity: critical", "severity: page"))
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(catalogue_root)
    [problem] = raised.value.problems
    assert problem.startswith("rules/src/shop.yaml: alerts[0] (ShopCostHigh).severity: 'page'")


def test_a_mutating_alert_target_needs_a_deployment_or_selector(catalogue_root: Path) -> None:
    text = MINIMAL_SOURCE.replace("target: {namespace: shop, deployment: checkout}", "target: {namespace: shop}")
    _source(catalogue_root).write_text(text)
    with pytest.raises(CatalogueError, match=r"alerts\[0\] \(ShopCostHigh\)\.target"):
        load_catalogue(catalogue_root)


def test_a_duplicate_key_is_an_error_not_a_silent_overwrite(catalogue_root: Path) -> None:
    _source(catalogue_root).write_text(MINIMAL_SOURCE.replace("    for: 5m\n", "    for: 5m\n    for: 1m\n"))
    with pytest.raises(CatalogueError, match=r"found duplicate key 'for'"):
        load_catalogue(catalogue_root)


def test_a_file_must_be_named_after_its_system(catalogue_root: Path) -> None:
    _source(catalogue_root).rename(catalogue_root / "rules" / "src" / "store.yaml")
    with pytest.raises(CatalogueError, match=r"rename the file to shop\.yaml"):
        load_catalogue(catalogue_root)


def test_every_broken_file_is_reported_at_once(catalogue_root: Path) -> None:
    (catalogue_root / "rules" / "src" / "other.yaml").write_text("system: other\n")
    _source(catalogue_root).write_text("system: [unclosed\n")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(catalogue_root)
    files = {p.split(":")[0] for p in raised.value.problems}
    assert files == {"rules/src/other.yaml", "rules/src/shop.yaml"}


def test_the_real_catalogue_loads() -> None:
    catalogue = load_catalogue(REPO)
    assert {s.system for s in catalogue.systems} == {
        "acgs",
        "ai_platform",
        "builder_hardening",
        "mc_platform",
        "meta_builder_v4",
        "responder",
    }


@pytest.mark.parametrize(
    ("original", "wrong", "words"),
    [
        ("deployment: checkout", "deployment: Checkout_1", "a Kubernetes deployment name such as o3-audit-proxy"),
        ("alert: ShopCostHigh", "alert: shop_cost_high", "a CamelCase name such as CostBudgetExceeded"),
    ],
)
def test_a_value_of_the_wrong_form_is_explained_in_words_not_a_pattern(
    catalogue_root: Path, original: str, wrong: str, words: str
) -> None:
    assert original in MINIMAL_SOURCE
    _source(catalogue_root).write_text(MINIMAL_SOURCE.replace(original, wrong))
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(catalogue_root)
    text = "\n".join(raised.value.problems)
    assert words in text and "^" not in text, text


def test_lint_settings_load_from_the_catalogue_file(catalogue_root: Path) -> None:
    settings_file = catalogue_root / "rules" / "catalogue.yaml"
    extra = "metric_types: {kubelet_things: counter}\nscope_labels: [cluster]\nmax_range: 15d\n"
    settings_file.write_text(settings_file.read_text() + extra)
    settings = load_catalogue(catalogue_root).settings
    assert (settings.metric_types, settings.scope_labels, settings.max_range) == (
        {"kubelet_things": "counter"},
        ("cluster",),
        "15d",
    )
