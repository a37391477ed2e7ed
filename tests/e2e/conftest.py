"""Fixtures: a whole chain per test module or per test, always torn down, processes killed."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.alertmanager import Alertmanagers
from tests.e2e.stack import Stack

REPORT = REPO / "var" / "e2e-report.txt"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Fakes and exporter running; the test starts the responder and alerting it needs."""
    with ExitStack() as exits:
        yield Stack(tmp_path, exits)


@pytest.fixture(scope="session")
def report() -> Iterator[list[str]]:
    """Timings and exactly-once counts, printed (pytest -s) and written to var/e2e-report.txt."""
    lines: list[str] = []
    yield lines
    if lines:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text("".join(line + "\n" for line in lines), "utf-8")
        print("\n" + REPORT.read_text("utf-8"))


@pytest.fixture
def alertmanagers(tmp_path: Path) -> Iterator[Alertmanagers]:
    """A real Alertmanager whose push path to the responder is broken (see tests.e2e.alertmanager)."""
    running = Alertmanagers(tmp_path)
    running.process.start()
    try:
        yield running
    finally:
        running.process.stop()
