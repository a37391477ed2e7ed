from responder.catalogue.lint.unique_names import CHECK
from tests.unit.catalogue.lint.factory import alert, messages

WARNING = {"severity": "warning", "team": "sre", "system": "example"}
CRITICAL = {"severity": "critical", "team": "sre", "system": "example"}


def test_one_name_with_two_severities_passes() -> None:
    # ACGSServiceDown: critical services page, the others warn.
    assert messages(CHECK, alert(name="ServiceDown"), alert(name="ServiceDown", labels=WARNING)) == []


def test_one_name_told_apart_by_static_labels_passes() -> None:
    # kubernetes-mixin's KubeAPIErrorBudgetBurn: one critical alert per window pair.
    fast = alert(name="KubeAPIErrorBudgetBurn", labels={**CRITICAL, "long": "1h", "short": "5m"})
    slower = alert(name="KubeAPIErrorBudgetBurn", labels={**CRITICAL, "long": "6h", "short": "30m"})
    assert messages(CHECK, fast, slower) == []


def test_the_same_name_and_labels_twice_is_reported() -> None:
    [message] = messages(CHECK, alert(), alert())
    assert "an alert named CostBudgetExceeded with the same labels (severity=critical" in message


def test_one_name_in_two_systems_is_reported() -> None:
    other = alert(system="other", labels=WARNING)
    [message] = messages(CHECK, alert(), other)
    assert "already used by system example" in message


def test_names_that_are_not_camel_case_are_reported() -> None:
    for name in ("cost_budget_exceeded", "costBudget", "Cost-Budget"):
        assert messages(CHECK, alert(name=name)) == ["alert name is not CamelCase (e.g. CostBudgetExceeded)"]
