from responder.catalogue.lint import lint_report
from responder.catalogue.load import load_catalogue
from responder.catalogue.metric_types import MetricType, from_metadata, metric_type
from tests.conftest import REPO


def test_evidence_beats_the_suffix_and_unknown_stays_unknown() -> None:
    assert metric_type("kubelet_evictions") == MetricType.COUNTER
    assert metric_type("kubelet_running_pod_count") == MetricType.GAUGE
    assert metric_type("node_vmstat_pgmajfault") == MetricType.COUNTER
    assert metric_type("kube_pod_status_phase") == MetricType.GAUGE
    assert metric_type("http_requests_total") == MetricType.COUNTER
    assert metric_type("vendor_things") == MetricType.UNKNOWN
    assert metric_type("vendor_things", {"vendor_things": MetricType.COUNTER}) == MetricType.COUNTER


def test_prometheus_metadata_gives_types_and_drops_conflicts() -> None:
    document = {
        "status": "success",
        "data": {
            "jobs_done": [{"type": "counter", "help": "", "unit": ""}],
            "queue": [{"type": "gauge", "help": "", "unit": ""}],
            "mixed": [{"type": "gauge"}, {"type": "counter"}],
            "latency_seconds": [{"type": "histogram"}],
        },
    }
    assert from_metadata(document) == {"jobs_done": MetricType.COUNTER, "queue": MetricType.GAUGE}
    assert from_metadata("not json we know") == {}


def test_metadata_reaches_the_checks_and_the_report_prints_errors_first() -> None:
    catalogue = load_catalogue(REPO)
    report = lint_report(catalogue, {"responder_journal_backlog": MetricType.COUNTER})
    # The journal backlog is a gauge; metadata claiming a counter makes deriv() of it, and reading it, wrong.
    assert {f.check for f in report.findings} == {"rate-over-counters", "counter-read-directly"}
    assert report.lines()[-1].startswith("2 error(s), 0 warning(s)")
