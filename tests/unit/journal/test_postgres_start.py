"""Starting on a PostgreSQL database the responder may not use: one error in words, saying what
to do, never a traceback."""

import asyncio

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

import psycopg

from responder.journal.postgres import JournalUnavailableError, PostgresJournal
from tests.postgres import PostgresServer, postgres_server  # noqa: F401  (a fixture, found by name)


def test_a_role_that_may_not_create_the_journals_tables_is_told_how_to_get_them(
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    dsn = postgres_server.fresh_dsn()
    database = dsn.rsplit("/", 1)[1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{database}_reader" LOGIN')
        conn.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{database}_reader"')
    limited = dsn.replace("postgres@", f"{database}_reader@")
    with pytest.raises(JournalUnavailableError) as refused:
        asyncio.run(PostgresJournal(limited, replica="test").start())
    assert "grant the DSN's role CREATE on its schema" in str(refused.value)
    assert "responder journal migrate" in str(refused.value)
