"""The dashboard has a uid Grafana accepts, and it is the one alerts link to."""

import re
from collections.abc import Iterator

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.ids import dashboard_uid
from responder.dashboards.lint_base import Check

MAX_LENGTH = 40
PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


def _check(built: BuiltDashboard) -> Iterator[str]:
    uid = str(built.model.get("uid") or "")
    if not PATTERN.match(uid) or len(uid) > MAX_LENGTH:
        yield f"uid {uid!r} must be 1 to {MAX_LENGTH} letters, digits, '-' or '_'"
    if uid != dashboard_uid(built.system):
        yield f"uid {uid!r} is not {dashboard_uid(built.system)!r}, the uid every alert's dashboard_url links to"


CHECK = Check(
    "stable-uid",
    "Alerts' dashboard_url and bookmarks link by uid; Grafana refuses uids over 40 characters.",
    _check,
)
