"""`responder replay`: the result alone on standard output, readable by default, several
notifications in the order given, and a missing file in one line."""

import json
from pathlib import Path

import pytest

from responder.cli import main
from tests.conftest import REPO, alert_payload, cost_alert, write_policy

EXAMPLE = REPO / "deploy" / "examples" / "cost-budget-exceeded.json"


@pytest.fixture
def journal(tmp_path: Path) -> list[str]:
    return ["--journal", str(tmp_path / "replay.db")]


def test_json_output_is_only_json_and_the_console_goes_to_stderr(
    journal: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--dry-run", "--output", "json", *journal, str(EXAMPLE)]) == 0
    captured = capsys.readouterr()
    [instance] = json.loads(captured.out)  # would fail on a console line before the JSON
    assert instance["alertname"] == "CostBudgetExceeded"
    assert "[slack] FIRING critical CostBudgetExceeded" in captured.err


def test_the_default_is_a_readable_timeline(journal: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--dry-run", *journal, str(EXAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("CostBudgetExceeded [critical] firing — fingerprint ")
    assert lines[1].startswith("  +  0.000s  firing; action EMERGENCY_STOP; planned remediation:EMERGENCY_STOP+0s")
    assert any(
        "remediation EMERGENCY_STOP succeeded (plan): record the current replica count" in line for line in lines
    )
    assert any("escalation slack succeeded: [slack] FIRING critical CostBudgetExceeded" in line for line in lines)


def test_several_files_are_replayed_in_the_order_given(
    journal: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    firing, resolved = tmp_path / "firing.json", tmp_path / "resolved.json"
    firing.write_text(json.dumps(alert_payload(cost_alert())))
    resolved.write_text(json.dumps(alert_payload(cost_alert(status="resolved"), status="resolved")))
    assert main(["replay", "--dry-run", "-o", "json", *journal, str(firing), str(resolved)]) == 0
    [instance] = json.loads(capsys.readouterr().out)
    assert instance["status"] == "resolved"
    assert [e["kind"] for e in instance["events"]] == ["firing", "resolved"]


def test_a_missing_file_is_one_line(journal: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["replay", *journal, str(EXAMPLE), str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"replay: {missing}: cannot read it: No such file or directory; give the path of a saved notification\n"
    )
    assert captured.out == ""
    assert not (tmp_path / "replay.db").exists()  # nothing was replayed


def test_a_policy_on_a_shared_postgresql_journal_replays_into_sqlite_never_the_database(
    journal: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The replicas would act on what a replay planned in their database: it is never opened
    (port 1 refuses every connection, so opening it would fail the replay)."""
    policy = write_policy(tmp_path, {"journal": {"postgresql": {"dsn": "postgresql://responder@127.0.0.1:1/x"}}})
    assert main(["replay", "--dry-run", "--config", str(policy), *journal, str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("CostBudgetExceeded [critical] firing")
    assert (tmp_path / "replay.db").exists()
