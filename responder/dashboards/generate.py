"""Generated dashboard files: build them, write the changed ones, and report drift.

The JSON is written with sorted keys, two-space indents and Python's shortest float repr, so
that the same sources give the same bytes on every machine and the drift check can compare text.
"""

import json
from pathlib import Path

from responder.catalogue.model import Catalogue
from responder.catalogue.rules import GeneratedFile
from responder.dashboards.build import BuiltDashboard, build_dashboard
from responder.dashboards.source import load_sources

DASHBOARD_DIR = Path("dashboards")
MARK = "DO NOT EDIT"


def build_all(catalogue: Catalogue) -> list[BuiltDashboard]:
    return [build_dashboard(catalogue, source) for source in load_sources(catalogue)]


def render(built: BuiltDashboard) -> GeneratedFile:
    text = json.dumps(built.model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    return GeneratedFile(DASHBOARD_DIR / f"{built.system}.json", text)


def generate(catalogue: Catalogue) -> list[GeneratedFile]:
    return [render(built) for built in build_all(catalogue)]


def _generated(path: Path) -> bool:
    try:
        return MARK in str(json.loads(path.read_text("utf-8")).get("description", ""))
    except (ValueError, AttributeError):
        return False


def drift(catalogue: Catalogue, files: list[GeneratedFile]) -> list[str]:
    """How dashboards/*.json differ from what the sources generate; empty when in step."""
    expected = {catalogue.root / f.path: f for f in files}
    problems = [
        f"{f.path}: missing; run `responder dashboards build` and commit it"
        if not full.exists()
        else f"{f.path}: differs from its sources (dashboards/src/, rules/src/); "
        "run `responder dashboards build` and commit the result"
        for full, f in expected.items()
        if not full.exists() or full.read_text("utf-8") != f.text
    ]
    stale = sorted(p for p in (catalogue.root / DASHBOARD_DIR).glob("*.json") if p not in expected and _generated(p))
    return problems + [f"{p.relative_to(catalogue.root)}: no source generates it any more; delete it" for p in stale]
