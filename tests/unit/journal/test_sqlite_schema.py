"""The SQLite journal's schema versions: a journal of a previous schema (before versions, or
the version before this one) is migrated and works; one written by a newer responder is
refused, untouched."""

from pathlib import Path

import pytest

from responder.journal import StepResult
from responder.journal.escalation import Callback
from responder.journal.sqlite import SqliteJournal
from responder.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, JournalSchemaError
from responder.vocabulary import StepKind
from tests import journal_rows
from tests.unit.journal.plans import NOW, STOP, claim, plan

PREVIOUS_SCHEMA = Path(__file__).with_name("schema_fc9272b.sql")


async def test_a_new_journal_has_the_latest_schema_version(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "journal.db")
    await journal.start()
    await journal.close()
    assert journal_rows.schema_version(tmp_path / "journal.db") == SCHEMA_VERSION


async def test_a_journal_of_the_previous_schema_is_migrated_and_keeps_its_work(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal_rows.write_previous_schema_journal(path, PREVIOUS_SCHEMA.read_text(), NOW)
    assert journal_rows.schema_version(path) == 0
    journal = SqliteJournal(path)
    await journal.start()
    try:
        assert journal_rows.schema_version(path) == SCHEMA_VERSION
        assert [s.correlation_id for s in await journal.unprocessed(10)] == ["old-2"]
        assert [h["deployment"] for h in await journal.holds("frozen")] == ["other"]
        assert [o["actor"] for o in await journal.operations(10)] == ["alice"]
        [old] = await journal.timeline("fp-old")
        assert [a["status"] for a in old["steps"][0]["attempts"]] == ["retry"]
        [step] = await claim(journal, StepKind.REMEDIATION, 10, NOW, 60)
        assert (step.instance.fingerprint, step.attempts) == ("fp-old", 1)
        await journal.finish_step(step, StepResult("succeeded", {}), NOW, NOW, None)
        await plan(journal, STOP)  # new work beside the old
        assert len(await claim(journal, StepKind.REMEDIATION, 10, NOW, 60)) == 1
    finally:
        await journal.close()
    assert journal_rows.step_statuses(path) == {"succeeded": 1, "running": 1}
    fresh = SqliteJournal(tmp_path / "fresh.db")
    await fresh.start()
    await fresh.close()
    assert journal_rows.indexes(path) == journal_rows.indexes(tmp_path / "fresh.db")


async def test_a_journal_of_the_version_before_is_migrated_and_records_webhook_events(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal_rows.write_previous_schema_journal(path, "\n".join(MIGRATIONS[:-1]), NOW)
    journal_rows.set_schema_version(path, SCHEMA_VERSION - 1)
    journal = SqliteJournal(path)
    await journal.start()
    try:
        assert journal_rows.schema_version(path) == SCHEMA_VERSION
        await journal.escalation.save_channel_state(1, "pagerduty", "ar-old", {"dedup_key": "ar-old"})
        first = await journal.escalation.acknowledge_reference("pagerduty", "ar-old", "E1", "dana", NOW, lambda *_: [])
        again = await journal.escalation.acknowledge_reference("pagerduty", "ar-old", "E1", "dana", NOW, lambda *_: [])
        assert (first.found, again.found) == (Callback.ACTED, Callback.REPLAY)
        [old] = await journal.timeline("fp-old")
        assert [e["kind"] for e in old["events"]] == ["acknowledged"]
    finally:
        await journal.close()
    fresh = SqliteJournal(tmp_path / "fresh.db")
    await fresh.start()
    await fresh.close()
    assert journal_rows.tables(path) == journal_rows.tables(tmp_path / "fresh.db")
    assert journal_rows.indexes(path) == journal_rows.indexes(tmp_path / "fresh.db")


async def test_a_journal_written_by_a_newer_responder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal_rows.set_schema_version(path, SCHEMA_VERSION + 1)
    written = path.read_bytes()
    with pytest.raises(JournalSchemaError, match="newer responder") as refused:
        await SqliteJournal(path).start()
    assert "run that newer responder on it, or point journal.sqlite" in str(refused.value)
    assert path.read_bytes() == written, "not even its journal mode was changed"
    assert not path.with_name(f"{path.name}-wal").exists()
    assert journal_rows.tables(path) == []
    assert journal_rows.schema_version(path) == SCHEMA_VERSION + 1
    journal_rows.set_schema_version(path, 0)
    journal = SqliteJournal(path)
    await journal.start()  # the refusal let go of the lock
    await journal.close()
