"""The `journal` fixture, once per backend: the tests that take it go through the Journal
protocol only, so that every backend runs them unchanged. A backend adds itself to BACKENDS."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from responder.journal import Journal
from responder.journal.sqlite import SqliteJournal
from tests.conftest import started

BACKENDS: dict[str, Callable[[Path], Journal]] = {
    "sqlite": lambda tmp_path: SqliteJournal(tmp_path / "journal.db"),
}


@pytest.fixture(params=sorted(BACKENDS))
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    async with started(BACKENDS[request.param](tmp_path)) as opened:
        yield opened
