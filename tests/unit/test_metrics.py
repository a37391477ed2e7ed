from responder.catalogue import promql
from responder.catalogue.load import load_catalogue
from responder.metrics import create_metrics
from responder.vocabulary import NotificationOutcome
from tests.conftest import REPO


def _exposed() -> set[str]:
    return {sample.name for family in create_metrics().registry.collect() for sample in family.samples}


def test_every_metric_the_self_monitoring_alerts_use_is_exposed() -> None:
    system = load_catalogue(REPO).system("responder")
    used = {name for alert in system.alerts for name in promql.metric_names(promql.parse(alert.expr))}
    wanted = {name for name in used if name.startswith("responder_")}
    assert wanted, "the responder's alerts use no responder_* metric"
    assert wanted - _exposed() == set()


def test_every_label_combination_exists_at_zero_from_the_start() -> None:
    exposed = {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in create_metrics().registry.collect()
        for sample in family.samples
    }
    for outcome in NotificationOutcome:  # the values themselves are pinned in test_vocabulary.py
        assert ("responder_notifications_total", (("outcome", outcome),)) in exposed
    assert (
        "responder_steps_total",
        (("action", "EMERGENCY_STOP"), ("kind", "remediation"), ("outcome", "failed")),
    ) in exposed
