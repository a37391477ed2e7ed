"""Dashboard uids, alert panel ids and the links between them.

Alerts carry a `dashboard_url` that opens their panel, and firing alerts keep the URL they were
sent with, so an alert's panel id must not move when another alert is added, removed or
reordered. The id is therefore a hash of the alert's identity (name and severity: one name may
exist at two severities), not its position. Hand-written panels get small ids in source order;
alert panel ids start above them, so the two ranges never meet.
"""

import zlib

UID_PREFIX = "alert-responder-"
ALERT_PANEL_BASE = 1_000_000
ALERT_PANEL_SPAN = 1_000_000_000  # base + span stays below 2**31: a panel id is a 32-bit integer


def dashboard_uid(system: str) -> str:
    """alert-responder-meta-builder-v4: Grafana uids allow at most 40 characters."""
    return UID_PREFIX + system.replace("_", "-")


def alert_panel_id(alertname: str, severity: str) -> int:
    return ALERT_PANEL_BASE + zlib.crc32(f"{alertname}:{severity}".encode()) % ALERT_PANEL_SPAN


def dashboard_url(grafana_base_url: str, system: str, alertname: str, severity: str) -> str:
    """The alert's panel on its system's dashboard, opened on its own (`viewPanel`)."""
    return f"{grafana_base_url}/d/{dashboard_uid(system)}?viewPanel={alert_panel_id(alertname, severity)}"
