"""Turn a dashboard source and its system's alerts into Grafana's classic dashboard JSON.

Everything a linter would otherwise have to police is done here once: the `datasource`
variable on every panel and query, a unit on every panel, ids and grid positions, the label
filters as template variables, and `DO NOT EDIT` in the description (JSON has no comments).
"""

import json
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common, dashboard

from responder.catalogue.model import Catalogue, System
from responder.dashboards.alert_panels import OK_COLOUR, AlertPanel, Steps, alert_panels
from responder.dashboards.ids import dashboard_uid
from responder.dashboards.source import DashboardSource, Panel, Target
from responder.generated import Output

DASHBOARD_DIR = Path("dashboards")
OUTPUT = Output(
    what="generated dashboards",
    command="responder dashboards build",
    sources="dashboards/src/, rules/src/",
    globs=(f"{DASHBOARD_DIR}/*.json",),
)
DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")
GRID_WIDTH = 24
PANEL_HEIGHT = 8
ALERT_PANEL_WIDTH = 8


@dataclass(frozen=True)
class BuiltDashboard:
    """One generated dashboard, with what the linter needs to know about its panels."""

    system: str
    source: str
    model: dict[str, Any]
    alert_exprs: dict[int, str]  # alert panel id -> the alert's full expression


class _Layout:
    """Left to right, top to bottom, a row header above each group; ids in the same order."""

    def __init__(self) -> None:
        self.x = self.y = self.height = 0
        self.next_id = 1

    def row(self) -> tuple[int, dashboard.GridPos]:
        self.y += self.height
        self.x, self.height = 0, 1
        return self.take_id(), dashboard.GridPos(h=1, w=GRID_WIDTH, x=0, y=self.y)

    def place(self, width: int) -> dashboard.GridPos:
        if self.x + width > GRID_WIDTH:
            self.y += self.height
            self.x, self.height = 0, 0
        if self.height == 1:  # the row header's line
            self.y += 1
            self.height = 0
        pos = dashboard.GridPos(h=PANEL_HEIGHT, w=width, x=self.x, y=self.y)
        self.x += width
        self.height = max(self.height, PANEL_HEIGHT)
        return pos

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _query(target: Target, ref_id: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(target.expr).legend_format(target.legend).ref_id(ref_id).datasource(DATASOURCE)


def _thresholds(steps: Steps) -> builders.ThresholdsConfig:
    return (
        builders.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps([dashboard.Threshold(value=value, color=colour) for value, colour in steps])
    )


def _source_panel(panel: Panel, panel_id: int, pos: dashboard.GridPos) -> stat.Panel | timeseries.Panel:
    builder: stat.Panel | timeseries.Panel
    if panel.kind == "stat":
        builder = stat.Panel().reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    else:
        builder = timeseries.Panel().fill_opacity(10 if panel.stack else 0)
        if panel.stack:
            builder = builder.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    builder = builder.id(panel_id).title(panel.title).description(panel.description).unit(panel.unit)
    builder = builder.datasource(DATASOURCE).grid_pos(pos)
    for ref_id, target in zip(string.ascii_uppercase, panel.targets, strict=False):
        builder = builder.with_target(_query(target, ref_id))
    return builder


def _alert_panel(panel: AlertPanel, pos: dashboard.GridPos) -> timeseries.Panel:
    numeric = [q.steps for q in panel.quantities if q.steps is not None]
    default = numeric[0] if numeric else ((None, OK_COLOUR),)
    style = common.GraphThresholdsStyleMode.LINE_AND_AREA if numeric else common.GraphThresholdsStyleMode.OFF
    builder = (
        timeseries.Panel()
        .id(panel.panel_id)
        .title(panel.title)
        .description(panel.description)
        .unit(panel.unit)
        .datasource(DATASOURCE)
        .grid_pos(pos)
        .links([builders.DashboardLink("Runbook").url(panel.runbook_url).target_blank(True)])
        .thresholds(_thresholds(default))
        .thresholds_style(common_builders.GraphThresholdsStyleConfig().mode(style))
    )
    for ref_id, quantity in zip(string.ascii_uppercase, panel.quantities, strict=False):
        builder = builder.with_target(_query(Target(quantity.expr, quantity.legend), ref_id))
        if quantity.steps is None and quantity.legend != "__auto":  # a moving threshold: the severity colour
            colour = {"mode": "fixed", "fixedColor": panel.colour}
            builder = builder.override_by_query(ref_id, [dashboard.DynamicConfigValue(id_val="color", value=colour)])
        elif quantity.steps not in (None, default):
            thresholds = _thresholds(quantity.steps).build()
            builder = builder.override_by_query(
                ref_id, [dashboard.DynamicConfigValue(id_val="thresholds", value=thresholds)]
            )
    return builder


def _variables(source: DashboardSource) -> Iterator[cogbuilder.Builder[dashboard.VariableModel]]:
    yield builders.DatasourceVariable("datasource").label("Data source").type("prometheus")
    for variable in source.variables:
        yield (
            builders.QueryVariable(variable.label)
            .query(f"label_values({variable.values_from}, {variable.label})")
            .datasource(DATASOURCE)
            .multi(True)
            .include_all(True)
            .all_value(".*")
            .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        )


def _description(catalogue: Catalogue, system: System, source: DashboardSource) -> str:
    return (
        f"{OUTPUT.mark(f'{source.source.as_posix()} and {system.source.as_posix()}')} "
        f"(ruleset {catalogue.settings.version}). Edit the sources and rebuild."
    )


def build_dashboard(catalogue: Catalogue, source: DashboardSource) -> BuiltDashboard:
    system = catalogue.system(source.system)
    layout = _Layout()
    builder = (
        builders.Dashboard(source.title)
        .uid(dashboard_uid(system.system))
        .description(_description(catalogue, system, source))
        .tags(sorted({"alert-responder", system.system.replace("_", "-"), *source.tags}))
        .refresh(source.refresh)
        .time(source.time_from, "now")
        .timezone("browser")
        .readonly()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
    )
    for variable in _variables(source):
        builder = builder.with_variable(variable)
    for row in source.rows:
        row_id, row_pos = layout.row()
        builder = builder.with_row(builders.Row(row.title).id(row_id).grid_pos(row_pos))
        for panel in row.panels:
            panel_id = layout.take_id()
            builder = builder.with_panel(_source_panel(panel, panel_id, layout.place(panel.width)))
    alerts = alert_panels(system, source.alert_units)
    row_id, row_pos = layout.row()
    builder = builder.with_row(builders.Row(f"Alerts ({system.source.as_posix()})").id(row_id).grid_pos(row_pos))
    for alert in alerts:
        builder = builder.with_panel(_alert_panel(alert, layout.place(ALERT_PANEL_WIDTH)))
    model = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return BuiltDashboard(system.system, source.source.as_posix(), model, {a.panel_id: a.expr for a in alerts})
