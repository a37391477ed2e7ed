"""Offline checks over the generated dashboards, one check per module.

The generator already follows these conventions; the checks exist so that a change to the
generator, the SDK pin or a source that breaks one is caught before Grafana shows it. They run
on the JSON exactly as written to dashboards/, plus what the generator knows about which panel
shows which alert. Each module exports `CHECK`, whose `why` says why the convention matters.
"""

from collections.abc import Iterable

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint import (
    datasource_variable,
    grid_overlap,
    rate_interval,
    stable_uid,
    template_variables,
    unique_panel_ids,
    units,
)
from responder.dashboards.lint_base import Check, Finding


def all_checks() -> list[Check]:
    modules = (
        datasource_variable,
        rate_interval,
        units,
        stable_uid,
        unique_panel_ids,
        grid_overlap,
        template_variables,
    )
    return [m.CHECK for m in modules]


def lint_dashboards(dashboards: Iterable[BuiltDashboard]) -> list[Finding]:
    return [
        Finding(check.name, built.system, message)
        for built in dashboards
        for check in all_checks()
        for message in check.run(built)
    ]
