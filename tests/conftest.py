"""Shared fixtures: real binaries, found on PATH.

Locally a missing binary skips its tests with the command that installs it; under CI
(REQUIRE_REAL_TOOLS=1, set by scripts/test) a missing binary fails them, so a green run
always means the real tool ran.
"""

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
}


def real_binary(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = (
        f"{name} is not installed; run scripts/test as root, or: "
        f"apt-get install {_DEBIAN_PACKAGE.get(name, name)}"
    )
    if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def promtool() -> str:
    return real_binary("promtool")


MINIMAL_SOURCE = """\
system: shop
title: Shop
team: shop-sre
alerts:
  - alert: ShopCostHigh
    expr: shop_cost_dollars > 10
    for: 5m
    severity: critical
    action: EMERGENCY_STOP
    why: Spend has a hard limit and scaling to zero is reversible.
    summary: Shop spend above $10
    description: 'Spend is ${{ $value }}'
    target: {namespace: shop, deployment: checkout}
"""


@pytest.fixture
def catalogue_root(tmp_path: Path) -> Path:
    """A repository with the real catalogue settings and one small source."""
    (tmp_path / "rules" / "src").mkdir(parents=True)
    shutil.copy(REPO / "rules" / "catalogue.yaml", tmp_path / "rules" / "catalogue.yaml")
    (tmp_path / "rules" / "src" / "shop.yaml").write_text(MINIMAL_SOURCE)
    return tmp_path
