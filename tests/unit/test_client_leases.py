"""`responder status` shows which replica holds which running step (PostgreSQL), or that one
process runs them all (SQLite); a replica's name is printed as untrusted text, one line each."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from responder.cli import main
from responder.journal.postgres import PostgresJournal
from responder.policy import Policy, load_policy
from responder.service import build_responder
from responder.vocabulary import StepKind
from responder.web.app import create_app
from responder.web.replicas import ONE_PROCESS
from tests.conftest import TOKEN, started, write_policy
from tests.fakes.thread import AppThread
from tests.postgres import PostgresServer, postgres_server  # noqa: F401  (a fixture, found by name)
from tests.unit.journal.plans import NOW, claim, due, plan

EVIL = "evil\x1b[2J\nreplica"  # a terminal escape and a line break in a replica's name


async def _lease_steps(dsn: str) -> None:
    async with started(PostgresJournal(dsn, replica=EVIL)) as other:
        await plan(other, *due(StepKind.ESCALATION, 1))
        await claim(other, StepKind.ESCALATION, 1, NOW, 3600)  # due and leased in the future: kept


def test_status_shows_each_replicas_leases_with_names_escaped(
    postgres_server: PostgresServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = postgres_server.fresh_dsn()
    asyncio.run(_lease_steps(dsn))
    path = write_policy(tmp_path)
    document = yaml.safe_load(path.read_text())
    document["journal"] = {"postgresql": {"dsn": dsn}}
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("RESPONDER_REPLICA", "web")
    monkeypatch.setenv("RESPONDER_TOKEN", TOKEN)
    with AppThread(create_app(build_responder(load_policy(path, env={})))) as server:
        assert main(["status", "--url", server.url]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    [row] = [line for line in out.splitlines() if line.startswith("evil")]
    assert row.split()[:3] == ["evil\\x1b[2J\\nreplica", "escalation", "slack"]
    assert row.endswith("left") and "fp1" in row
    assert "(answered by replica web)" in out


def test_status_on_sqlite_says_one_process_runs_every_step(
    make_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONDER_TOKEN", TOKEN)
    with AppThread(create_app(build_responder(make_policy()))) as server:
        assert main(["status", "--url", server.url]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"journal: {ONE_PROCESS}")
