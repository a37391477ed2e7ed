from responder.catalogue.lint.scoped_selectors import CHECK
from responder.catalogue.lint_base import Severity
from tests.unit.catalogue.lint.factory import alert, messages, notes


def test_an_unscoped_selector_on_a_mutating_alert_is_an_error() -> None:
    [note] = notes(CHECK, alert("up == 0", mutating=True))
    assert note.severity == Severity.ERROR and "up has no job or namespace matcher" in note.message


def test_a_scoped_selector_on_a_mutating_alert_passes() -> None:
    assert messages(CHECK, alert('up{job="api"} == 0', mutating=True)) == []
    assert messages(CHECK, alert('max by (pod) (cost{namespace="prod"}) > 1', mutating=True)) == []


def test_a_shared_name_unscoped_on_a_notifying_alert_is_a_warning() -> None:
    [note] = notes(CHECK, alert("process_resident_memory_bytes > 1e9"))
    assert note.severity == Severity.WARNING


def test_a_system_specific_name_on_a_notifying_alert_passes() -> None:
    assert messages(CHECK, alert("shop_queue_depth > 100")) == []


def test_recorded_series_are_scoped_by_their_rule() -> None:
    assert messages(CHECK, alert("slo:sli_error:ratio_rate5m > 0.1", mutating=True)) == []
