from responder.dashboards.lint.unique_panel_ids import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model, panel


def test_the_example_passes() -> None:
    assert messages(CHECK, built()) == []


def test_a_duplicate_inside_a_collapsed_row_is_reported() -> None:
    changed = model()
    changed["panels"][0]["panels"] = [panel(2, "up", y=20)]
    assert messages(CHECK, built(changed)) == ["panel id 2 is used by 2 panels"]


def test_a_panel_without_an_id_is_reported() -> None:
    changed = model()
    del changed["panels"][1]["id"]
    assert messages(CHECK, built(changed)) == ["1 panel(s) without an id"]
