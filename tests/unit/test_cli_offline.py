"""Commands that never serve (check-config, replay) work without the server's own secrets, and
say each warning once."""

from pathlib import Path

import pytest

from responder.cli import main
from tests.conftest import REPO, write_policy


def test_offline_commands_need_no_server_secrets_in_a_fresh_clone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded default names var/responder/token, which `scripts/run` creates: check-config
    and replay work before it exists, saying what serve will need."""
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: serve will refuse to start until these credentials can be read:" in out
    assert "auth.bearer_token_file: cannot read var/responder/token" in out
    example = REPO / "deploy" / "examples" / "cost-budget-exceeded.json"
    assert main(["replay", "--dry-run", "--journal", str(tmp_path / "replay.db"), str(example)]) == 0
    assert "CostBudgetExceeded" in capsys.readouterr().out
    assert main(["serve"]) == 1
    assert "auth.bearer_token_file: cannot read var/responder/token" in capsys.readouterr().err


def test_check_config_prints_each_channel_warning_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(write_policy(tmp_path))]) == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("slack: no credentials") == 1
    assert both.count("sms: no credentials") == 1
