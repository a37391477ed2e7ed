"""deploy/examples/ holds what Alertmanager sends for a catalogue alert, as its rule renders it."""

import json
import re

import yaml

from tests.conftest import REPO

EXAMPLE = REPO / "deploy" / "examples" / "cost-budget-exceeded.json"
RULES = REPO / "rules" / "builder_hardening.rules.yml"


def test_the_example_carries_the_rules_labels_and_annotations_rendered_at_its_value() -> None:
    [alert] = json.loads(EXAMPLE.read_text())["alerts"]
    [rule] = [
        r
        for g in yaml.safe_load(RULES.read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "CostBudgetExceeded"
    ]
    value = 0.73  # the burn rate the example stands for (the budget is 0.50/day)
    rendered = {
        key: re.sub(r"\{\{ \$value \| printf \"(%[^\"]+)\" \}\}", lambda m: m[1] % value, text)
        for key, text in rule["annotations"].items()
    }
    assert alert["annotations"] == rendered
    assert {k: v for k, v in alert["labels"].items() if k != "alertname"} == rule["labels"]
