"""Panel ids are unique within a dashboard, rows and panels inside rows included."""

from collections import Counter
from collections.abc import Iterator

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, panels


def _check(built: BuiltDashboard) -> Iterator[str]:
    counts = Counter(p.get("id") for p in panels(built.model))
    for panel_id, count in sorted(counts.items(), key=lambda item: str(item[0])):
        if panel_id is None:
            yield f"{count} panel(s) without an id"
        elif count > 1:
            yield f"panel id {panel_id} is used by {count} panels"


CHECK = Check(
    "unique-panel-ids",
    "viewPanel=<id> in an alert's dashboard_url must open exactly one panel.",
    _check,
)
