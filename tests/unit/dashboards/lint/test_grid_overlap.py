from responder.dashboards.lint.grid_overlap import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model


def test_side_by_side_panels_pass() -> None:
    assert messages(CHECK, built()) == []


def test_overlapping_panels_are_reported() -> None:
    changed = model()
    changed["panels"][2]["gridPos"]["x"] = 4
    assert messages(CHECK, built(changed)) == ["panel 2 ('panel 2') and panel 1000123 ('panel 1000123') overlap"]


def test_a_panel_past_the_right_edge_is_reported() -> None:
    changed = model()
    changed["panels"][2]["gridPos"]["x"] = 20
    [message] = messages(CHECK, built(changed))
    assert "outside the 24-column grid" in message
