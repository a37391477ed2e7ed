from responder.dashboards.lint.units import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model


def test_the_example_passes() -> None:
    assert messages(CHECK, built()) == []


def test_a_panel_without_a_unit_is_reported_and_rows_are_not() -> None:
    changed = model()
    changed["panels"][1]["fieldConfig"]["defaults"] = {}
    [message] = messages(CHECK, built(changed))
    assert message.startswith("panel 2 ('panel 2'): no unit")
