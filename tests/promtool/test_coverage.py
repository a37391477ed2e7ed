"""Every alert and recording rule has hand-written promtool tests that can disagree with it."""

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from responder.catalogue.load import load_catalogue
from responder.catalogue.model import System
from tests.conftest import REPO

CATALOGUE = load_catalogue(REPO)


def _groups(system: System) -> list[dict[str, Any]]:
    path = REPO / "rules" / "tests" / f"{system.system}.test.yml"
    assert path.exists(), f"{system.system} has no promtool tests; write {path.relative_to(REPO)}"
    document = yaml.safe_load(path.read_text())
    assert document["rule_files"] == [f"../{system.system}.rules.yml"]
    groups: list[dict[str, Any]] = document["tests"]
    return groups


def _alert_cases(system: System) -> Iterator[dict[str, Any]]:
    for group in _groups(system):
        yield from group.get("alert_rule_test", [])


@pytest.mark.parametrize("system", CATALOGUE.systems, ids=lambda s: s.system)
def test_every_group_sets_interval_and_a_sentence_name(system: System) -> None:
    for group in _groups(system):
        name = group.get("name", "")
        assert "interval" in group, f"{name!r}: set interval (promtool 2.42 needs it)"
        assert len(name.split()) >= 4, f"{name!r}: name the group with a sentence"


@pytest.mark.parametrize("system", CATALOGUE.systems, ids=lambda s: s.system)
def test_every_alert_has_a_firing_case_with_annotations_and_a_quiet_case(system: System) -> None:
    cases = list(_alert_cases(system))
    for alert in system.alerts:
        mine = [c for c in cases if c["alertname"] == alert.name]
        firing = [c for c in mine if c.get("exp_alerts")]
        quiet = [c for c in mine if not c.get("exp_alerts")]
        assert firing, f"{alert.name}: no promtool case where it fires"
        assert quiet, f"{alert.name}: no promtool case where it does not fire"
        severities = {e["exp_labels"].get("severity") for c in firing for e in c["exp_alerts"]}
        assert alert.severity in severities, f"{alert.name}: no firing case for its {alert.severity} rule"
        for case in firing:
            for expected in case["exp_alerts"]:
                rendered = expected.get("exp_annotations", {})
                assert {"summary", "description", "action"} <= rendered.keys(), (
                    f"{alert.name} at {case['eval_time']}: assert the rendered annotations"
                )


@pytest.mark.parametrize("system", CATALOGUE.systems, ids=lambda s: s.system)
def test_every_recording_rule_has_an_expression_test(system: System) -> None:
    cases = [case for group in _groups(system) for case in group.get("promql_expr_test", [])]
    samples = [sample.get("labels", "") for case in cases for sample in case.get("exp_samples", [])]
    tested = " ".join([case["expr"] for case in cases] + samples)
    for rule in system.recording_rules:
        label = f'slo="{rule.labels["slo"]}"' if "slo" in rule.labels else ""
        assert rule.record in tested and label in tested, f"{rule.record} {label}: no promql_expr_test"
