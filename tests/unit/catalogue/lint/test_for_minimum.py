import pytest

from responder.catalogue.lint.for_minimum import CHECK
from tests.unit.catalogue.lint.factory import alert, messages

WARNING = {"severity": "warning", "team": "sre", "system": "x"}


def test_for_at_the_minimum_passes() -> None:
    assert messages(CHECK, alert(for_="1m")) == []


def test_the_seeds_30s_warning_is_reported() -> None:
    [message] = messages(CHECK, alert(for_="30s", labels=WARNING))
    assert "for 30s is shorter than the 120s minimum for warning alerts" in message


def test_no_for_at_all_is_reported() -> None:
    [message] = messages(CHECK, alert(for_=None))
    assert message.startswith("for 0s")
    assert "for_exemption" in message


@pytest.mark.parametrize(
    "expr",
    [
        # Countdowns and elapsed times move one way between scrapes (kubernetes-mixin, node-mixin).
        "kubelet_certificate_manager_client_ttl_seconds < 604800",
        "time() - node_boot_time_seconds > 43200",
        "(time() - max by (job) (backup_last_success_timestamp_seconds)) > 43200",
        # A windowed rate over at least the minimum already averages a blip away.
        "rate(node_network_receive_errs_total[15m]) > 0",
        "increase(kubelet_evictions[15m]) > 0 and rate(kube_pod_x_total[5m]) > 0",
        # kubernetes-mixin's KubeNodeEviction: the info metric joined for its node label does not decide firing.
        "sum by (cluster, instance) (rate(kubelet_evictions[15m])) * on (cluster, instance) group_left (node)"
        " max by (cluster, instance, node) (kubelet_node_name) > 0",
        # Lasting state changes only when the state does.
        'node_md_disks{state="failed"} > 0',
        "max_over_time(prometheus_config_last_reload_successful[5m]) == 0",
    ],
)
def test_expressions_that_cannot_flap_need_no_dwell_time(expr: str) -> None:
    assert messages(CHECK, alert(expr, for_="0s", labels=WARNING)) == []


@pytest.mark.parametrize(
    "expr",
    [
        "node_load1 > 4",  # an instant gauge: one bad scrape fires it
        "rate(x_total[1m]) > 0",  # a window shorter than the warning minimum
        "time() > 5 and node_load1 > 4",  # time() without an elapsed difference
        "up == 0",
    ],
)
def test_near_misses_still_need_the_minimum(expr: str) -> None:
    assert len(messages(CHECK, alert(expr, for_="0s", labels=WARNING))) == 1


def test_a_reviewed_exemption_silences_the_check() -> None:
    exempt = alert("up == 0", for_="0s", for_exemption="multi-window burn rate: the short window resets it")
    assert messages(CHECK, exempt) == []
