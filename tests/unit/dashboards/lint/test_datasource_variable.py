from responder.dashboards.lint.datasource_variable import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model


def test_the_example_passes() -> None:
    assert messages(CHECK, built()) == []


def test_a_missing_datasource_variable_is_reported() -> None:
    changed = model()
    changed["templating"]["list"] = changed["templating"]["list"][1:]
    assert messages(CHECK, built(changed)) == [
        "no `datasource` variable of type datasource; add one (query: prometheus)"
    ]


def test_a_panel_pinned_to_a_datasource_uid_is_reported() -> None:
    changed = model()
    changed["panels"][1]["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    assert messages(CHECK, built(changed)) == ["panel 2 ('panel 2'): datasource is not ${datasource}"]


def test_a_query_pinned_to_a_datasource_uid_is_reported() -> None:
    changed = model()
    del changed["panels"][2]["targets"][0]["datasource"]
    assert messages(CHECK, built(changed)) == [
        "panel 1000123 ('panel 1000123'): query A datasource is not ${datasource}"
    ]
