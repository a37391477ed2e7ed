"""The `journal` fixture, once per backend: the tests that take it go through the Journal
protocol only, so that every backend runs them unchanged. A backend adds itself to BACKENDS.

PostgreSQL runs on a real server started once per session (tests/postgres.py); each test gets
an empty database of its own."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from responder.journal import Journal
from responder.journal.sqlite import SqliteJournal
from tests.conftest import started
from tests.postgres import PostgresServer, postgres_server  # noqa: F401  (a fixture, found by name)


def _postgresql(request: pytest.FixtureRequest, _: Path) -> Journal:
    from responder.journal.postgres import PostgresJournal  # needs the driver: only when this backend runs

    server: PostgresServer = request.getfixturevalue("postgres_server")
    return PostgresJournal(server.fresh_dsn(), replica="test")


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Journal]] = {
    "sqlite": lambda _, tmp_path: SqliteJournal(tmp_path / "journal.db"),
    "postgresql": _postgresql,
}


@pytest.fixture(params=sorted(BACKENDS))
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    async with started(BACKENDS[request.param](request, tmp_path)) as opened:
        yield opened
