"""What kind of series a metric name is, from evidence first and its suffix last.

Exporters older than the naming conventions publish counters without `_total`
(`kubelet_evictions`, `node_vmstat_pgmajfault`) and gauges that end in `_count`
(`kubelet_running_pod_count`), so a suffix alone misleads. The table below was reviewed against
each exporter's own documentation; names it does not list fall back to the suffix, and a name
neither knows is UNKNOWN, which no check treats as an error.
"""

from collections.abc import Mapping
from enum import StrEnum


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    UNKNOWN = "unknown"


COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")

_C, _G = MetricType.COUNTER, MetricType.GAUGE

# Exact names whose type their suffix would get wrong or cannot tell.
KNOWN: Mapping[str, MetricType] = {
    # kubelet
    "kubelet_evictions": _C,
    "kubelet_server_expiration_renew_errors": _C,
    "kubelet_certificate_manager_client_expiration_renew_errors": _C,
    "kubelet_running_pod_count": _G,
    "kubelet_running_container_count": _G,
    "kubelet_running_pods": _G,
    "kubelet_running_containers": _G,
    "kubelet_node_name": _G,
    "kubelet_certificate_manager_client_ttl_seconds": _G,
    "kubelet_certificate_manager_server_ttl_seconds": _G,
    "kubelet_volume_stats_available_bytes": _G,
    "kubelet_volume_stats_capacity_bytes": _G,
    "kubelet_volume_stats_inodes": _G,
    "kubelet_volume_stats_inodes_free": _G,
    "kubelet_volume_stats_inodes_used": _G,
    "aggregator_unavailable_apiservice": _G,
    "apiserver_client_certificate_expiration_seconds_count": _C,
    "container_memory_working_set_bytes": _G,
    "container_cpu_cfs_periods_total": _C,
    "up": _G,
    # node_exporter
    "node_md_disks": _G,
    "node_md_disks_required": _G,
    "node_md_state": _G,
    "node_filesystem_avail_bytes": _G,
    "node_filesystem_size_bytes": _G,
    "node_filesystem_files": _G,
    "node_filesystem_files_free": _G,
    "node_filesystem_readonly": _G,
    "node_filefd_allocated": _G,
    "node_filefd_maximum": _G,
    "node_load1": _G,
    "node_load5": _G,
    "node_load15": _G,
    "node_memory_MemAvailable_bytes": _G,
    "node_memory_MemTotal_bytes": _G,
    "node_nf_conntrack_entries": _G,
    "node_nf_conntrack_entries_limit": _G,
    "node_textfile_scrape_error": _G,
    "node_network_up": _G,
    "node_bonding_active": _G,
    "node_bonding_slaves": _G,
    "node_systemd_unit_state": _G,
    "node_hwmon_temp_celsius": _G,
    "node_timex_offset_seconds": _G,
    "node_timex_sync_status": _G,
    "node_timex_maxerror_seconds": _G,
    "node_boot_time_seconds": _G,
    "node_time_seconds": _G,
    # Prometheus and Alertmanager
    "prometheus_config_last_reload_successful": _G,
    "prometheus_notifications_queue_length": _G,
    "prometheus_notifications_queue_capacity": _G,
    "prometheus_notifications_alertmanagers_discovered": _G,
    "prometheus_remote_storage_highest_timestamp_in_seconds": _G,
    "prometheus_remote_storage_queue_highest_sent_timestamp_seconds": _G,
    "prometheus_remote_storage_shards": _G,
    "prometheus_remote_storage_shards_desired": _G,
    "prometheus_remote_storage_shards_max": _G,
    "prometheus_tsdb_head_series": _G,
    "prometheus_tsdb_head_chunks": _G,
    "prometheus_sd_discovered_targets": _G,
    "prometheus_target_scrape_pool_targets": _G,
    "alertmanager_config_last_reload_successful": _G,
    "alertmanager_cluster_members": _G,
    # the catalogue's own systems (docs/catalogue.md lists the responder's contract)
    "responder_journal_backlog": _G,
    "responder_held_deployments": _G,
    "cost_daily_burn_rate": _G,
    "accuracy_baseline_score": _G,
    "acgs_constitutional_hash_info": _G,
    "acgs_service_up": _G,
    "mc_replication_lag_seconds": _G,
    "meta_builder_v4_canary_comparison": _G,
    "meta_builder_v4_circuit_breaker_state": _G,
    "meta_builder_v4_queue_depth": _G,
    "meta_builder_v4_worker_last_heartbeat_timestamp_seconds": _G,
    "meta_builder_v4_workers_active": _G,
    "meta_builder_v4_workers_expected": _G,
    "pg_up": _G,
    "platform_experiment_accuracy": _G,
    "quorum_ast_diff_percent": _G,
    "redis_up": _G,
}

# Families whose members share a type whatever their names end in.
KNOWN_PREFIXES: tuple[tuple[str, MetricType], ...] = (
    ("node_vmstat_", _C),  # /proc/vmstat event counts: pgfault, pgmajfault, oom_kill, pswpin…
    ("kube_", _G),  # kube-state-metrics: object state; its few counters end in _total
)


def metric_type(name: str, declared: Mapping[str, MetricType] | None = None) -> MetricType:
    """The type of `name`: what the catalogue declares, then the table, then the suffix."""
    for table in (declared or {}, KNOWN):
        if name in table:
            return table[name]
    if name.endswith(COUNTER_SUFFIXES):
        return _C
    for prefix, kind in KNOWN_PREFIXES:
        if name.startswith(prefix):
            return kind
    return MetricType.UNKNOWN


# Gauges that report a state which changes only when something really changes (a failed disk,
# a read-only filesystem, a failed reload): they cannot flap, so they need no dwell time.
LASTING_STATE: frozenset[str] = frozenset(
    {
        "node_md_disks",
        "node_md_state",
        "node_filesystem_readonly",
        "node_systemd_unit_state",
        "node_textfile_scrape_error",
        "kube_node_spec_unschedulable",
        "kube_node_status_condition",
        "prometheus_config_last_reload_successful",
        "alertmanager_config_last_reload_successful",
    }
)


def from_metadata(document: object) -> dict[str, MetricType]:
    """Types from a Prometheus `/api/v1/metadata` response; a name exported with two types (or
    one this module does not model, such as a histogram's own name) is left out."""
    data = document.get("data") if isinstance(document, dict) else None
    types: dict[str, MetricType] = {}
    for name, entries in (data or {}).items():
        kinds = {e.get("type") for e in entries if isinstance(e, dict)} if isinstance(entries, list) else set()
        if len(kinds) == 1 and (kind := kinds.pop()) in (MetricType.COUNTER, MetricType.GAUGE):
            types[name] = MetricType(kind)
    return types
