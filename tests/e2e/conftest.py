"""Fixtures: a whole chain per test module or per test, always torn down, processes killed."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.stack import Stack, Timing

REPORT = REPO / "var" / "e2e-timings.txt"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Fakes and exporter running; the test starts the responder and alerting it needs."""
    with ExitStack() as exits:
        yield Stack(tmp_path, exits)


@pytest.fixture(scope="session")
def timings() -> Iterator[list[Timing]]:
    """Metric-to-remediation timings, printed and written to var/e2e-timings.txt at the end."""
    found: list[Timing] = []
    yield found
    if found:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text("".join(t.line() + "\n" for t in found), "utf-8")
        print("\n" + REPORT.read_text("utf-8"))
