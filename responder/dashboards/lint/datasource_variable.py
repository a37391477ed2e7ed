"""A `datasource` variable, and `${datasource}` on every panel and every query."""

from collections.abc import Iterator

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, data_panels, describe

REFERENCE = "${datasource}"


def _check(built: BuiltDashboard) -> Iterator[str]:
    variables = built.model.get("templating", {}).get("list", [])
    if not any(v.get("name") == "datasource" and v.get("type") == "datasource" for v in variables):
        yield "no `datasource` variable of type datasource; add one (query: prometheus)"
    for panel in data_panels(built.model):
        if panel.get("datasource", {}).get("uid") != REFERENCE:
            yield f"{describe(panel)}: datasource is not {REFERENCE}"
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") != REFERENCE:
                yield f"{describe(panel)}: query {target.get('refId')} datasource is not {REFERENCE}"


CHECK = Check(
    "datasource-variable",
    "A dashboard pinned to one datasource uid imports broken into every Grafana but the one it was made on.",
    _check,
)
