"""Alert instances from sample times: where one ends, its identity, and its rule's annotations."""

from pathlib import Path

import yaml

from responder.backtest.instances import (
    Labels,
    Rule,
    Run,
    Timing,
    annotations_for,
    extend_runs,
    fingerprint,
    load_rules,
    reconstruct,
    runs,
)

EVERY_30S = Timing.fixed(30, None)


def test_samples_further_apart_than_the_gap_start_a_new_instance() -> None:
    assert runs([0, 30, 60, 150, 180], gap=45) == [(0, 60), (150, 180)]


def test_one_sample_is_an_instance_and_no_sample_is_none() -> None:
    assert runs([10], gap=45) == [(10, 10)]
    assert runs([], gap=45) == []


def test_runs_extend_across_pages_as_the_samples_arrive() -> None:
    found: list[Run] = []
    extend_runs(found, [0, 30, 60], gap=45)
    extend_runs(found, [90, 120, 300], gap=45)
    assert found == [(0, 120), (300, 300)]


def test_an_instance_ends_one_evaluation_after_its_last_sample() -> None:
    series: dict[Labels, list[Run]] = {(("alertname", "A"),): [(100.0, 160.0)]}
    [instance] = reconstruct(series, [], EVERY_30S, window=(0, 1000))
    assert (instance.start, instance.end, instance.already_firing) == (100.0, 190.0, False)


def test_an_instance_whose_samples_reach_the_window_end_is_still_firing() -> None:
    series: dict[Labels, list[Run]] = {(("alertname", "A"),): [(900.0, 990.0)]}
    [instance] = reconstruct(series, [], EVERY_30S, window=(0, 1000))
    assert instance.end is None


def test_an_instance_whose_first_sample_is_within_its_gap_of_the_window_start_was_already_firing() -> None:
    series: dict[Labels, list[Run]] = {(("alertname", "A"),): [(1045.0, 1100.0), (2000.0, 2030.0)]}
    first, second = reconstruct(series, [], EVERY_30S, window=(1000, 5000))
    assert (first.already_firing, second.already_firing) == (True, False)
    [late] = reconstruct({(("alertname", "A"),): [(1046.0, 1100.0)]}, [], EVERY_30S, window=(1000, 5000))
    assert not late.already_firing  # 46s after the start: a gap of 45s had passed without it


def test_each_alert_ends_by_its_own_interval_and_gap() -> None:
    timing = Timing({"Slow": 60.0}, default=30.0, shortest=15.0)
    series: dict[Labels, list[Run]] = {
        (("alertname", "Slow"),): [(100.0, 200.0)],
        (("alertname", "B"),): [(100.0, 200.0)],
    }
    ends = {i.labels["alertname"]: i.end for i in reconstruct(series, [], timing, window=(0, 1000))}
    assert ends == {"Slow": 260.0, "B": 230.0}
    [open_slow] = reconstruct({(("alertname", "Slow"),): [(100.0, 911.0)]}, [], timing, window=(0, 1000))
    assert open_slow.end is None  # 89s before the end: within Slow's gap of 90s, still firing


def test_instances_come_in_start_order_across_series() -> None:
    series: dict[Labels, list[Run]] = {
        (("alertname", "B"),): [(100.0, 100.0)],
        (("alertname", "A"),): [(50.0, 50.0), (500.0, 500.0)],
    }
    found = reconstruct(series, [], EVERY_30S, window=(0, 1000))
    assert [(i.labels["alertname"], i.start) for i in found] == [("A", 50.0), ("B", 100.0), ("A", 500.0)]


def test_the_fingerprint_is_alertmanagers() -> None:
    # Prometheus's LabelSet.Fingerprint: FNV-1a 64 of name, 0xff, value, 0xff, by sorted name.
    assert fingerprint({}) == "cbf29ce484222325"
    labels = {"alertname": "ShopWebFlapping", "severity": "critical", "team": "shop", "deployment": "d1"}
    assert fingerprint(labels) == "d0ce8f3e55312c78"  # what Alertmanager 0.25 answered for these labels
    assert fingerprint({"b": "2", "a": "1"}) == fingerprint({"a": "1", "b": "2"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "1", "b": ""})
    assert len(fingerprint({"alertname": "A"})) == 16


def test_annotations_come_from_the_rule_of_the_same_name_and_labels() -> None:
    rules = [
        Rule("Down", {"severity": "critical"}, {"action": "EMERGENCY_STOP"}),
        Rule("Down", {"severity": "warning"}, {"action": "INVESTIGATE"}),
    ]
    assert annotations_for({"alertname": "Down", "severity": "warning"}, rules) == {"action": "INVESTIGATE"}
    assert annotations_for({"alertname": "Other", "severity": "warning"}, rules) == {}


def test_label_templates_are_filled_in_and_other_templates_kept() -> None:
    rules = [Rule("Down", {}, {"target_deployment": "{{ $labels.app }}", "summary": "{{ $value }} of {{.Labels.app}}"})]
    annotations = annotations_for({"alertname": "Down", "app": "web"}, rules)
    assert annotations == {"target_deployment": "web", "summary": "{{ $value }} of web"}


def test_a_template_naming_a_missing_label_is_kept_as_written() -> None:
    rules = [Rule("Down", {}, {"summary": "{{ $labels.app }} down"})]
    assert annotations_for({"alertname": "Down"}, rules) == {"summary": "{{ $labels.app }} down"}


def test_rules_are_read_from_every_rules_file_and_recording_rules_skipped(tmp_path: Path) -> None:
    group = {"name": "g", "rules": [{"record": "r", "expr": "1"}, {"alert": "A", "expr": "1", "labels": {"x": "1"}}]}
    (tmp_path / "a.rules.yml").write_text(yaml.safe_dump({"groups": [group]}), "utf-8")
    (tmp_path / "notes.yml").write_text("not: rules", "utf-8")
    assert load_rules(tmp_path) == [Rule("A", {"x": "1"}, {})]
