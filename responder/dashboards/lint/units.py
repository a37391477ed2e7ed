"""Every panel that shows data declares a unit."""

from collections.abc import Iterator

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, data_panels, describe


def _check(built: BuiltDashboard) -> Iterator[str]:
    for panel in data_panels(built.model):
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            yield f"{describe(panel)}: no unit; set one (s, percentunit, reqps, bytes, short …)"


CHECK = Check(
    "units",
    "0.2 means 200 ms, 20% or 0.2 requests a second; without a unit the on-call guesses at 3 a.m.",
    _check,
)
