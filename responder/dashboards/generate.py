"""Generated dashboard files: every dashboard built and rendered as the JSON that is committed.

The JSON is written with sorted keys, two-space indents and Python's shortest float repr, so
that the same sources give the same bytes on every machine and the drift check can compare them.
"""

import json

from responder.catalogue.model import Catalogue
from responder.dashboards.build import DASHBOARD_DIR, BuiltDashboard, build_dashboard
from responder.dashboards.source import load_sources
from responder.generated import GeneratedFile


def build_all(catalogue: Catalogue) -> list[BuiltDashboard]:
    return [build_dashboard(catalogue, source) for source in load_sources(catalogue)]


def render(built: BuiltDashboard) -> GeneratedFile:
    text = json.dumps(built.model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    return GeneratedFile(DASHBOARD_DIR / f"{built.system}.json", text)


def generate(catalogue: Catalogue) -> list[GeneratedFile]:
    return [render(built) for built in build_all(catalogue)]
