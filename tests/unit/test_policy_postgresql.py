"""journal.postgresql: the shared journal's DSN is read as a credential, never shown, and chooses
the backend the responder is wired with."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from responder.journal.postgres import JournalUnavailableError
from responder.journal_policy import describe_journal
from responder.policy import Policy, PolicyError, load_policy
from responder.service import build_journal
from tests.conftest import write_policy

DSN = "postgresql://responder:hunter2-not-shown@db.example:5432/responder"


def postgresql_policy(tmp_path: Path, journal: dict[str, object], env: dict[str, str], offline: bool = False) -> Policy:
    path = write_policy(tmp_path)
    document = yaml.safe_load(path.read_text())
    document["journal"] = {"postgresql": journal}
    path.write_text(yaml.safe_dump(document))
    return load_policy(path, env=env, offline=offline)


def test_the_dsn_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    policy = postgresql_policy(tmp_path, {"dsn": "${RESPONDER_DSN}"}, {"RESPONDER_DSN": DSN})
    assert policy.journal_dsn is not None and policy.journal_dsn.value == DSN
    assert "hunter2" not in repr(policy) + describe_journal(policy.journal_settings())
    assert DSN in policy.logged_secrets(), "the log scrubber knows it"


def test_the_dsn_may_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "dsn").write_text(DSN + "\n")
    (tmp_path / "dsn").chmod(0o600)
    policy = postgresql_policy(tmp_path, {"dsn_file": str(tmp_path / "dsn")}, {})
    assert policy.journal_dsn is not None and policy.journal_dsn.value == DSN


def test_a_postgresql_policy_wires_the_shared_journal(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    from responder.journal.postgres import PostgresJournal

    journal = build_journal(postgresql_policy(tmp_path, {"dsn": DSN}, {}))
    assert isinstance(journal, PostgresJournal)
    assert journal.where == "PostgreSQL responder on db.example:5432"


def test_an_unset_dsn_variable_is_for_serve_to_refuse_not_for_check_config(tmp_path: Path) -> None:
    unread = postgresql_policy(tmp_path, {"dsn": "${RESPONDER_DSN}"}, {}, offline=True).unread_secrets
    assert unread == ("journal.postgresql.dsn: environment variable RESPONDER_DSN is not set; export it",)
    with pytest.raises(PolicyError) as refused:
        postgresql_policy(tmp_path, {"dsn": "${RESPONDER_DSN}"}, {})
    assert refused.value.problems == list(unread)


@pytest.mark.parametrize(
    ("journal", "problem"),
    [
        ({}, "journal.postgresql: give dsn (a libpq connection string or URI"),
        ({"dsn": DSN, "dsn_file": "/run/dsn"}, "journal.postgresql: give dsn or dsn_file, not both"),
    ],
)
def test_a_postgresql_section_without_one_dsn_is_refused(
    tmp_path: Path, journal: dict[str, object], problem: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        postgresql_policy(tmp_path, journal, {})
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_sqlite_and_postgresql_together_are_refused(make_policy: Callable[..., Policy]) -> None:
    with pytest.raises(PolicyError) as refused:
        make_policy({"journal.postgresql": {"dsn": DSN}})
    assert refused.value.problems == ["journal: give sqlite (one replica) or postgresql (several replicas), not both"]


@pytest.mark.parametrize(
    ("dsn", "hidden"),
    [
        ("postgresql://responder:hun/ter2secret@127.0.0.1:1/x", "ter2secret"),  # a / in the password
        ("password=hunter 2secretpart host=127.0.0.1", "2secretpart"),  # a space, unquoted
    ],
)
def test_a_dsn_libpq_would_misread_is_refused_at_start_and_flagged_by_check_config_quoting_nothing(
    tmp_path: Path, dsn: str, hidden: str
) -> None:
    policy = postgresql_policy(tmp_path, {"dsn": "${RESPONDER_DSN}"}, {"RESPONDER_DSN": dsn})
    words = describe_journal(policy.journal_settings())
    assert "WARNING: its DSN cannot be used" in words and hidden not in words
    journal = build_journal(policy)
    with pytest.raises(JournalUnavailableError) as refused:
        asyncio.run(journal.start())
    assert "its DSN cannot be used" in str(refused.value) and hidden not in str(refused.value)
