"""`responder serve` binds before it says it listens, and each way it cannot start is one line
saying what and what to do."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from responder.cli import main
from responder.journal.sqlite import SqliteJournal
from tests.conftest import REPO, started, write_policy
from tests.fakes.thread import free_port


def _not_logged(err: str) -> str:
    """Standard error without serve's JSON log lines (the channels' warnings)."""
    return "".join(line for line in err.splitlines(keepends=True) if not line.startswith('{"ts":'))


def test_serve_on_a_taken_port_says_so_in_one_line_and_never_claims_to_listen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        policy = write_policy(tmp_path, {"server.listen": f"127.0.0.1:{port}"})
        assert main(["serve", "--config", str(policy)]) == 1
    captured = capsys.readouterr()
    assert "listening on" not in captured.out
    assert _not_logged(captured.err) == (
        f"cannot start: cannot listen on 127.0.0.1:{port}: Address already in use; another process (another"
        " responder?) listens there; stop it, or set server.listen in the policy to a free port\n"
    )


async def test_serve_on_a_journal_in_use_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"server.listen": "127.0.0.1:0"})
    async with started(SqliteJournal(tmp_path / "journal.db")):
        code = await asyncio.to_thread(main, ["serve", "--config", str(policy)])
    assert code == 1
    captured = capsys.readouterr()
    assert "listening on" not in captured.out
    assert _not_logged(captured.err) == (
        f"cannot start: {tmp_path / 'journal.db'} is in use by another responder process; stop it, or give this"
        " one its own journal (journal.sqlite in responder.yaml)\n"
    )


def test_listening_is_printed_once_the_port_answers(tmp_path: Path) -> None:
    """Whoever waits for the line (a script, a test, a person) may connect at once."""
    port = free_port()
    policy = write_policy(tmp_path, {"server.listen": f"127.0.0.1:{port}"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "responder", "serve", "--config", str(policy)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as serve:
        try:
            assert serve.stdout is not None
            first = serve.stdout.readline()
            assert first == f"alert-responder listening on http://127.0.0.1:{port}\n"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=30)


async def test_serve_on_an_unreachable_postgresql_says_what_to_check_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No server listens on the DSN's port: one line naming the database (never the password)
    and what to check, exit 1, no traceback."""
    port = free_port()
    policy = write_policy(tmp_path, {"server.listen": "127.0.0.1:0"})
    document = yaml.safe_load(policy.read_text())
    document["journal"] = {"postgresql": {"dsn": f"postgresql://responder:hunter2@127.0.0.1:{port}/responder"}}
    policy.write_text(yaml.safe_dump(document))
    code = await asyncio.to_thread(main, ["serve", "--config", str(policy)])
    assert code == 1
    captured = capsys.readouterr()
    assert "listening on" not in captured.out
    [line] = _not_logged(captured.err).splitlines()
    assert line.startswith(f"cannot start: cannot use the journal on PostgreSQL responder on 127.0.0.1:{port}: "), line
    assert line.endswith("check journal.postgresql's DSN, and that the server is up and reachable from here"), line
    assert "Traceback" not in captured.err and "hunter2" not in captured.out + captured.err
