"""Dashboard uids, alert panel ids and the links between them.

Alerts carry a `dashboard_url` that opens their panel, and firing alerts keep the URL they were
sent with, so an alert's panel id must not move when another alert is added, removed or
reordered. The id is therefore a hash of the alert's identity, not its position: its name, its
severity and its static labels, since one name may exist at two severities, or twice at one
severity told apart by a label (`long: 1h` and `long: 6h`). An alert without static labels
hashes name and severity alone. Hand-written panels get small ids in source order; alert panel
ids start above them, so the two ranges never meet.
"""

import zlib
from collections.abc import Mapping

UID_PREFIX = "alert-responder-"
ALERT_PANEL_BASE = 1_000_000
ALERT_PANEL_SPAN = 1_000_000_000  # base + span stays below 2**31: a panel id is a 32-bit integer


def dashboard_uid(system: str) -> str:
    """alert-responder-meta-builder-v4: Grafana uids allow at most 40 characters."""
    return UID_PREFIX + system.replace("_", "-")


def alert_identity(alertname: str, severity: str, labels: Mapping[str, str]) -> str:
    """`name:severity`, then `:k=v,…` for the static labels in name order when there are any."""
    identity = f"{alertname}:{severity}"
    if labels:
        identity += ":" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return identity


def alert_panel_id(alertname: str, severity: str, labels: Mapping[str, str] | None = None) -> int:
    identity = alert_identity(alertname, severity, labels or {})
    return ALERT_PANEL_BASE + zlib.crc32(identity.encode()) % ALERT_PANEL_SPAN


def dashboard_url(
    grafana_base_url: str, system: str, alertname: str, severity: str, labels: Mapping[str, str] | None = None
) -> str:
    """The alert's panel on its system's dashboard, opened on its own (`viewPanel`)."""
    panel = alert_panel_id(alertname, severity, labels)
    return f"{grafana_base_url}/d/{dashboard_uid(system)}?viewPanel={panel}"
