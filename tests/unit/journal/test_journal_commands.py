"""`responder journal migrate` and `responder journal copy`, against a real PostgreSQL server."""

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

from responder.cli import main
from responder.journal import Effect, Operation, StepResult
from responder.journal.postgres import PostgresJournal
from responder.journal.sqlite import SqliteJournal
from responder.vocabulary import StepKind
from tests.conftest import started
from tests.postgres import PostgresServer
from tests.unit.journal.plans import NOW, RUNG, STOP, claim, plan


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.fresh_dsn()


def test_migrate_check_fails_until_the_schema_is_current(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "migrate", "--check", "--dsn", dsn]) == 1
    assert "needs migrating; run `responder journal migrate`" in capsys.readouterr().err
    assert main(["journal", "migrate", "--dsn", dsn]) == 0
    assert main(["journal", "migrate", "--check", "--dsn", dsn]) == 0
    assert "up to date" in capsys.readouterr().out


def test_migrate_names_an_unreachable_server_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "migrate", "--check", "--dsn", "postgresql://u:sekrit-pw@127.0.0.1:1/db"]) == 1
    err = capsys.readouterr().err
    assert "cannot migrate PostgreSQL db on 127.0.0.1:1" in err
    assert "sekrit-pw" not in err


async def _sqlite_journal(path: Path) -> None:
    """Open work of every kind: a pending rung, a stop that ran and holds its target, one left
    running by a crash, an operation."""
    async with started(SqliteJournal(path)) as journal:
        await plan(journal, STOP, RUNG)
        await plan(journal, STOP, fingerprint="fp2")
        [stop, _] = await claim(journal, StepKind.REMEDIATION, 2, NOW, 60)
        held = Effect("stopped", "n", "d", True, stop.instance.holder, {"replicas": 3})
        await journal.finish_step(stop, StepResult("succeeded", {}, effects=(held,)), NOW, NOW, None)
        await journal.record_operation(Operation("alice", "UNFREEZE", {"namespace": "n"}, True, {}, [], NOW))


async def _copied(dsn: str) -> None:
    async with started(PostgresJournal(dsn, replica="a")) as journal:
        assert [h["deployment"] for h in await journal.holds("stopped")] == ["d"]
        assert [o["actor"] for o in await journal.operations(10)] == ["alice"]
        [crashed] = await claim(journal, StepKind.REMEDIATION, 10, NOW, 60)
        assert crashed.interrupted, "left running in SQLite: handed back as interrupted"
        assert await journal.next_due("escalation") == NOW + 900
        await plan(journal, STOP, fingerprint="fp3")  # the ids go on after the copied ones


def test_copy_moves_a_sqlite_journal_and_refuses_a_target_that_is_not_empty(
    dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "journal.db"
    asyncio.run(_sqlite_journal(source))
    assert main(["journal", "copy", "--from", str(source), "--to", dsn]) == 0
    assert "steps: 3" in capsys.readouterr().out
    asyncio.run(_copied(dsn))
    assert main(["journal", "copy", "--from", str(source), "--to", dsn]) == 1
    assert "already holds a journal" in capsys.readouterr().err
