"""Load the alert catalogue: rules/catalogue.yaml plus one source file per monitored system.

Sources are validated against a JSON Schema before anything else reads them, so that every later
stage (generator, linter, dashboards) can trust the shape and report only meaning.
"""

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from responder import schemas
from responder.catalogue.metric_types import MetricType
from responder.catalogue.model import (
    Alert,
    BurnRate,
    BurnWindow,
    Catalogue,
    EventsSli,
    LatencySli,
    RatioSli,
    RecordingRule,
    SeedChange,
    Settings,
    Sli,
    Slo,
    System,
)
from responder.catalogue.slo import expand_slo
from responder.dashboards.ids import dashboard_url
from responder.targets import Target
from responder.yamlio import YamlError, load_yaml

CATALOGUE_FILE = Path("rules/catalogue.yaml")
SOURCE_DIR = Path("rules/src")


class CatalogueError(schemas.ProblemsError):
    """The catalogue cannot be loaded; `problems` lists every reason, each naming file and field."""

    headline = "the alert catalogue has errors:"


def _load_document(root: Path, relative: Path, schema_name: str) -> dict[str, Any]:
    try:
        document = load_yaml(root / relative, shown_as=relative)
    except YamlError as exc:
        raise CatalogueError([str(exc)]) from exc
    problems = schemas.problems(document, Path(__file__).with_name(schema_name), relative)
    if problems:
        raise CatalogueError(problems)
    assert isinstance(document, dict)
    return document


def _target(raw: dict[str, str] | None) -> Target | None:
    if raw is None:
        return None
    return Target(raw["namespace"], raw.get("deployment"), raw.get("selector"))


def _runbook(settings: Settings, system: str, name: str, given: str | None) -> str:
    return given or f"{settings.runbook_base_url}/{system}.md#{name.lower()}"


def _settings(root: Path) -> Settings:
    raw = _load_document(root, CATALOGUE_FILE, "catalogue.schema.json")
    burn_rates = {
        speed: BurnRate(
            severity=spec["severity"],
            windows=tuple(BurnWindow(w["long"], w["short"], Decimal(str(w["budget_spent"]))) for w in spec["windows"]),
            for_=spec.get("for", BurnRate.for_),
        )
        for speed, spec in raw["burn_rates"].items()
    }
    return Settings(
        version=str(raw["version"]),
        runbook_base_url=raw["runbook_base_url"].rstrip("/"),
        grafana_base_url=raw["grafana_base_url"].rstrip("/"),
        scrape_interval=raw["scrape_interval"],
        for_minimum=dict(raw["for_minimum"]),
        burn_rates=burn_rates,
        metric_types={name: MetricType(kind) for name, kind in raw.get("metric_types", {}).items()},
        scope_labels=tuple(raw.get("scope_labels", Settings.scope_labels)),
        max_range=raw.get("max_range", Settings.max_range),
        slo_period=raw.get("slo_period", Settings.slo_period),
    )


def _sli(raw: dict[str, Any]) -> Sli:
    by = tuple(raw.get("by", ()))
    if "error_ratio" in raw:
        return RatioSli(raw["error_ratio"].strip())
    if "latency" in raw:
        latency = raw["latency"]
        return LatencySli(latency["histogram"], str(latency["threshold"]), latency.get("selector", ""), by)
    return EventsSli(raw["errors"].strip(), raw["total"].strip(), by)


def _slo(settings: Settings, system: str, raw: dict[str, Any]) -> Slo:
    return Slo(
        name=raw["name"],
        objective=Decimal(str(raw["objective"])),
        sli=_sli(raw),
        description=raw["description"],
        action=raw["action"],
        why=raw["why"],
        runbook_url=_runbook(settings, system, raw["name"], raw.get("runbook_url")),
        target=_target(raw.get("target")),
        period=raw.get("period", settings.slo_period),
        service=raw.get("service", ""),
        slo_id=raw.get("slo_id", ""),
        labels=dict(raw.get("labels", {})),
        annotations=dict(raw.get("annotations", {})),
        page=raw.get("page", True),
        ticket=raw.get("ticket", True),
    )


def _system(settings: Settings, root: Path, relative: Path) -> System:
    raw = _load_document(root, relative, "source.schema.json")
    name = raw["system"]
    if relative.stem != name:
        raise CatalogueError([f"{relative}: system is {name!r}; rename the file to {name}.yaml"])
    slos = tuple(_slo(settings, name, s) for s in raw.get("slos", []))
    recording = [
        RecordingRule(r["record"], r["expr"].strip(), dict(r.get("labels", {}))) for r in raw.get("recording_rules", [])
    ]
    alerts = [
        Alert(
            name=a["alert"],
            expr=a["expr"].strip(),
            for_=a["for"],
            severity=a["severity"],
            action=a["action"],
            why=a["why"],
            summary=a["summary"].strip(),
            description=a["description"].strip(),
            runbook_url=_runbook(settings, name, a["alert"], a.get("runbook_url")),
            target=_target(a.get("target")),
            labels=dict(a.get("labels", {})),
            seed=SeedChange(a["seed"]["expr"].strip(), a["seed"]["reason"].strip()) if "seed" in a else None,
            for_exemption=a.get("for_exemption"),
        )
        for a in raw.get("alerts", [])
    ]
    for slo in slos:
        try:
            slo_records, slo_alerts = expand_slo(slo, settings, name)
        except ValueError as exc:
            raise CatalogueError([f"{relative}: {exc}"]) from exc
        recording.extend(slo_records)
        alerts.extend(slo_alerts)
    alerts = [
        replace(a, dashboard_url=dashboard_url(settings.grafana_base_url, name, a.name, a.severity, a.labels))
        for a in alerts
    ]
    return System(
        system=name,
        title=raw["title"],
        team=raw["team"],
        source=relative,
        scrape_interval=raw.get("scrape_interval", settings.scrape_interval),
        slos=slos,
        recording_rules=tuple(recording),
        alerts=tuple(alerts),
    )


def load_catalogue(root: Path) -> Catalogue:
    """Load and validate the whole catalogue under `root`, reporting every broken file at once."""
    settings = _settings(root)
    paths = sorted((root / SOURCE_DIR).glob("*.yaml"))
    if not paths:
        raise CatalogueError([f"{root / SOURCE_DIR}: no *.yaml sources; add one per system"])
    systems: list[System] = []
    problems: list[str] = []
    for path in paths:
        try:
            systems.append(_system(settings, root, path.relative_to(root)))
        except CatalogueError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CatalogueError(problems)
    return Catalogue(root=root, settings=settings, systems=tuple(systems))
