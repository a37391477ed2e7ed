"""The hand-written half of each dashboard: dashboards/src/<system>.yaml.

A source holds data only (rows, panels, queries, units); layout, ids, datasource wiring and the
alert panels are the generator's job, so that the conventions the linter checks hold by
construction and a source cannot get them wrong.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder import schemas
from responder.catalogue.model import Catalogue
from responder.dashboards import units
from responder.yamlio import YamlError, load_yaml

SOURCE_DIR = Path("dashboards/src")
FILTERS = "$filters"


class DashboardSourceError(schemas.ProblemsError):
    """A dashboard source cannot be used; `problems` names file and field for each reason."""

    headline = "the dashboard sources have errors:"


@dataclass(frozen=True)
class Variable:
    label: str
    values_from: str


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = "__auto"


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str
    unit: str
    description: str
    targets: tuple[Target, ...]
    width: int = 8
    stack: bool = False


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class DashboardSource:
    system: str
    source: Path
    title: str
    tags: tuple[str, ...]
    refresh: str
    time_from: str
    variables: tuple[Variable, ...]
    rows: tuple[Row, ...]
    alert_units: dict[str, str]


def filter_matchers(variables: tuple[Variable, ...]) -> str:
    """What `$filters` stands for: one regex matcher per template variable (`.*` when All is picked)."""
    return ", ".join(f'{v.label}=~"${v.label}"' for v in variables)


def _panel(raw: dict[str, object], filters: str) -> Panel:
    targets = raw["targets"]
    assert isinstance(targets, list)
    return Panel(
        title=str(raw["title"]),
        kind=str(raw.get("type", "timeseries")),
        unit=str(raw["unit"]),
        description=str(raw["description"]).strip(),
        targets=tuple(
            Target(str(t["expr"]).strip().replace(FILTERS, filters), str(t.get("legend", "__auto"))) for t in targets
        ),
        width=int(str(raw.get("width", 8))),
        stack=bool(raw.get("stack", False)),
    )


def _unit_problems(raw: dict[str, Any], relative: Path) -> list[str]:
    """Every unit, of a panel or of an alert, that Grafana does not know."""
    given = [
        (f"rows[{i}] ({row['title']}).panels[{j}] ({panel['title']}).unit", panel["unit"])
        for i, row in enumerate(raw["rows"])
        for j, panel in enumerate(row["panels"])
    ]
    given += [(f"alert_units.{name}", unit) for name, unit in raw["alert_units"].items()]
    return [f"{relative}: {where}: {problem}" for where, unit in given if (problem := units.problem(unit))]


def _source(root: Path, relative: Path) -> DashboardSource:
    try:
        raw = load_yaml(root / relative, shown_as=relative)
    except YamlError as exc:
        raise DashboardSourceError([str(exc)]) from exc
    problems = schemas.problems(raw, Path(__file__).with_name("source.schema.json"), relative)
    problems += [] if problems else _unit_problems(raw, relative)
    if problems:
        raise DashboardSourceError(problems)
    variables = tuple(Variable(v["label"], v["values_from"].strip()) for v in raw["variables"])
    filters = filter_matchers(variables)
    return DashboardSource(
        system=relative.stem,
        source=relative,
        title=raw["title"],
        tags=tuple(raw.get("tags", [])),
        refresh=raw.get("refresh", "30s"),
        time_from=raw.get("time_from", "now-6h"),
        variables=variables,
        rows=tuple(Row(r["title"], tuple(_panel(p, filters) for p in r["panels"])) for r in raw["rows"]),
        alert_units=dict(raw["alert_units"]),
    )


def _coverage(catalogue: Catalogue, found: set[str], sources: list[DashboardSource]) -> list[str]:
    """Every system has a source, every source a system, and every alert a unit."""
    by_system = {s.system: s for s in sources}
    problems = [
        f"{SOURCE_DIR}/{name}.yaml: no system {name!r} in rules/src/; rename or delete it"
        for name in sorted(found - {s.system for s in catalogue.systems})
    ]
    for system in catalogue.systems:
        source = by_system.get(system.system)
        if system.system not in found:
            problems.append(f"{SOURCE_DIR}/{system.system}.yaml: missing; every system in rules/src/ needs a dashboard")
        if source is None:
            continue
        names = {a.name for a in system.alerts}
        problems += [
            f"{source.source}: alert_units: add {name}, the unit of the quantity it alerts on"
            for name in sorted(names - set(source.alert_units))
        ]
        problems += [
            f"{source.source}: alert_units: {name} is not an alert of {system.system}; remove it"
            for name in sorted(set(source.alert_units) - names)
        ]
    return problems


def load_sources(catalogue: Catalogue) -> list[DashboardSource]:
    """Every dashboard source, validated against the schema and against the catalogue."""
    sources: list[DashboardSource] = []
    problems: list[str] = []
    paths = sorted((catalogue.root / SOURCE_DIR).glob("*.yaml"))
    for path in paths:
        try:
            sources.append(_source(catalogue.root, path.relative_to(catalogue.root)))
        except DashboardSourceError as exc:
            problems.extend(exc.problems)
    problems += _coverage(catalogue, {p.stem for p in paths}, sources)
    if problems:
        raise DashboardSourceError(problems)
    return sources
