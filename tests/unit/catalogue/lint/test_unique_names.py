from responder.catalogue.lint.unique_names import CHECK
from tests.unit.catalogue.lint.factory import alert, messages

WARNING = {"severity": "warning", "team": "sre", "system": "example"}


def test_one_name_with_two_severities_passes() -> None:
    # ACGSServiceDown: critical services page, the others warn.
    assert messages(CHECK, alert(name="ServiceDown"), alert(name="ServiceDown", labels=WARNING)) == []


def test_the_same_name_and_severity_twice_is_reported() -> None:
    [message] = messages(CHECK, alert(), alert())
    assert "a critical alert named CostBudgetExceeded already exists" in message


def test_one_name_in_two_systems_is_reported() -> None:
    other = alert(system="other", labels=WARNING)
    [message] = messages(CHECK, alert(), other)
    assert "already used by system example" in message


def test_names_that_are_not_camel_case_are_reported() -> None:
    for name in ("cost_budget_exceeded", "costBudget", "Cost-Budget"):
        assert messages(CHECK, alert(name=name)) == ["alert name is not CamelCase (e.g. CostBudgetExceeded)"]
