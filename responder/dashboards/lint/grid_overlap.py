"""Grid positions lie inside the 24-column grid and no two panels overlap."""

from collections.abc import Iterator
from itertools import combinations
from typing import Any

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, describe, panels

GRID_WIDTH = 24


def _box(panel: dict[str, Any]) -> tuple[int, int, int, int]:
    pos = panel.get("gridPos", {})
    return int(pos.get("x", 0)), int(pos.get("y", 0)), int(pos.get("w", 0)), int(pos.get("h", 0))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _check(built: BuiltDashboard) -> Iterator[str]:
    placed = [p for p in panels(built.model) if "gridPos" in p]
    for panel in placed:
        x, _, w, h = _box(panel)
        if w <= 0 or h <= 0 or x < 0 or x + w > GRID_WIDTH:
            yield f"{describe(panel)}: gridPos {panel['gridPos']} is outside the {GRID_WIDTH}-column grid"
    for a, b in combinations(placed, 2):
        if _overlap(_box(a), _box(b)):
            yield f"{describe(a)} and {describe(b)} overlap"


CHECK = Check(
    "grid-overlap",
    "Grafana moves overlapping panels on load, so the layout shown is not the one generated.",
    _check,
)
