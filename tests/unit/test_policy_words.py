"""responder.yaml's errors in words: what a value should look like, the known key nearest to an
unknown one, and where in which file."""

from pathlib import Path

import pytest

from responder.cli import main
from tests.conftest import write_policy


def test_policy_errors_say_what_is_expected_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"journal.retention": "30 days", "server.listen": "localhost"})
    assert main(["check-config", "--config", str(policy)]) == 1
    err = capsys.readouterr().err
    assert "journal.retention: '30 days' is not a duration such as 30m, 2h or 7d" in err
    assert "server.listen: 'localhost' is not a host and port such as 127.0.0.1:9095" in err
    assert "does not match" not in err


def test_an_unknown_key_names_the_nearest_known_one_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path)
    text = policy.read_text().replace("cooldown:", "cooldwn:", 1)
    policy.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "cooldwn:" in t)
    assert main(["check-config", "--config", str(policy)]) == 1
    err = capsys.readouterr().err
    assert f"{policy}:{line}: actions.EMERGENCY_STOP: unknown key 'cooldwn' — did you mean 'cooldown'?" in err
