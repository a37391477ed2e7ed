"""The client commands against a running responder: credentials from flags, the environment or
contexts; refusals in one line; tables for people, the API's data for scripts."""

import io
import json
import os
import pwd
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from responder.cli import main
from responder.cli.output import Tone, colour_on, table
from responder.client.actor import default_actor
from responder.client.config import connection
from responder.client.http import Client
from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from tests.conftest import TOKEN, alert_payload, cost_alert
from tests.fakes.thread import AppThread, free_port

FP = "4f1c2a9e8d7b6c5a"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def no_client_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No client config, token or login name of the machine running the tests leaks in."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("RESPONDER_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def responder(make_policy: Callable[..., Policy]) -> Iterator[AppThread]:
    """A responder on the default policy (plan mode, console channels) with one firing critical
    alert asking for an investigation: its ladder has sent slack and pagerduty, sms is due in 15m."""
    with AppThread(create_app(build_responder(make_policy()))) as server:
        api = Client(connection(None, server.url, None, env={"RESPONDER_TOKEN": TOKEN}))
        api.post("/webhook", alert_payload(cost_alert(action="INVESTIGATE")))
        deadline = time.monotonic() + 10
        while not api.get(f"/api/v1/alerts/{FP}", accept=(404,)).get("instances", [{}])[0].get("steps"):
            assert time.monotonic() < deadline, "the alert was not planned in time"
            time.sleep(0.05)
        yield server


def test_status_with_a_wrong_token_is_one_line_naming_url_status_detail_and_token_file(
    responder: AppThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token-0123456789")
    assert main(["status", "--url", responder.url, "--token-file", str(wrong)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"status: GET {responder.url}/api/v1/alerts?status=firing: 401 ")
    assert f"(sent the token in {wrong} (--token-file))" in err
    assert "not-the-token" not in err and TOKEN not in err


def test_status_with_no_token_says_none_was_sent(responder: AppThread, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--url", responder.url]) == 1
    assert "401" in (err := capsys.readouterr().err) and "(sent no credentials)" in err


def test_a_responder_that_is_not_there_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--url", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"status: GET {url}/readyz: cannot reach the responder (")
    assert err.endswith("is `responder serve` running there?\n")


def test_status_shows_readiness_and_each_firing_alert_with_its_state(
    responder: AppThread, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--url", responder.url, "--token-file", str(token_file)]
    assert main(["status", *flags]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal: no colour
    header, values = out.splitlines()[:2]
    assert header.split() == ["RESPONDER", "READINESS", "BACKLOG", "FIRING", "HOLDS"]
    assert values.split()[:2] == [responder.url, "ready"]
    assert values.split()[3:] == ["1", "0"]  # firing, holds
    [row] = [line for line in out.splitlines() if FP in line]
    assert "CostBudgetExceeded" in row and "critical" in row and "INVESTIGATE succeeded (plan)" in row
    assert "sms in 14m" in row and row.split()[-2] == "no"  # not acknowledged
    assert "no deployment stopped or frozen" in out

    assert main(["ack", FP, "--actor", "cli:alice", *flags]) == 0
    assert capsys.readouterr().out.startswith(f"acknowledged {FP} as cli:alice; ladder stopped: sms (rung 1)")
    assert main(["status", *flags]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if FP in line]
    assert "by cli:alice via api" in row and "sms in" not in row


def test_json_and_yaml_are_the_apis_own_data(
    responder: AppThread, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--url", responder.url, "--token-file", str(token_file)]
    assert main(["alerts", "--output", "json", *flags]) == 0
    [alert] = json.loads(capsys.readouterr().out)["alerts"]
    assert (alert["fingerprint"], alert["status"]) == (FP, "firing")
    assert main(["-o", "yaml", "status", *flags]) == 0  # a global option before the subcommand
    status = yaml.safe_load(capsys.readouterr().out)
    assert status["readiness"]["status"] == "ready"
    assert status["firing"][0]["timeline"]["steps"][0]["name"] == "INVESTIGATE"


def test_alerts_holds_and_operations_print_tables(
    responder: AppThread, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--url", responder.url, "--token-file", str(token_file)]
    assert main(["alerts", "--status", "firing", *flags]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["STATUS", "ALERT", "SEVERITY", "ACTION", "FIRST", "SEEN", "FINGERPRINT"]
    assert row.split()[:4] == ["firing", "CostBudgetExceeded", "critical", "INVESTIGATE"]
    assert main(["holds", *flags]) == 0
    assert capsys.readouterr().out == "no deployment stopped or frozen\n"
    # Only INVESTIGATE fired: in plan mode as in live, no stop named the deployment, so nothing to restore.
    assert main(["restore", "autogen-council/o3-audit-proxy", "--actor", "cli:bob", *flags]) == 1
    assert "would not have stopped it" in capsys.readouterr().err
    assert main(["operations", *flags]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:5] == ["WHEN", "ACTOR", "OPERATION", "TARGET", "RESULT"]
    assert row.split()[2:6] == ["cli:bob", "RESTORE", "autogen-council/o3-audit-proxy", "refused"]


def test_contexts_name_a_responder_and_its_token_file(
    responder: AppThread, token_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config" / "alert-responder" / "config.yaml"
    config.parent.mkdir(parents=True)
    contexts = {
        "prod": {"url": responder.url, "token_file": str(token_file)},
        "nowhere": {"url": f"http://127.0.0.1:{free_port()}"},
    }
    config.write_text(yaml.safe_dump({"current-context": "nowhere", "contexts": contexts}))
    assert main(["--context", "prod", "alerts"]) == 0
    assert FP in capsys.readouterr().out
    assert main(["alerts"]) == 1  # the current context
    assert "(context nowhere; give --url or --context to ask another)" in capsys.readouterr().err
    assert main(["alerts", "--context", "prd"]) == 1
    assert f"{config}: no context 'prd' — did you mean 'prod'? (known: nowhere, prod)" in capsys.readouterr().err


def test_the_token_comes_from_the_flag_then_the_environment_then_the_context(
    token_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config" / "alert-responder" / "config.yaml"
    config.parent.mkdir(parents=True)
    other = tmp_path / "other-token"
    other.write_text("from-the-context-file")
    config.write_text(
        yaml.safe_dump({"current-context": "a", "contexts": {"a": {"url": "http://a", "token_file": str(other)}}})
    )
    assert connection(None, None, None).credentials.origin == f"the token in {other} (context a)"
    monkeypatch.setenv("RESPONDER_TOKEN", "from-the-environment")
    found = connection(None, None, None)
    assert (found.url, found.credentials.origin) == ("http://a", "the token in $RESPONDER_TOKEN")
    found = connection(None, "http://b/", token_file)
    assert (found.url, found.credentials.origin) == ("http://b", f"the token in {token_file} (--token-file)")
    assert found.credentials.token is not None and found.credentials.token.value == TOKEN
    assert TOKEN not in repr(found)


def test_an_unknown_key_in_the_client_config_names_the_nearest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config" / "alert-responder" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        yaml.safe_dump({"current-context": "a", "contexts": {"a": {"url": "http://a", "tokenfile": "x"}}})
    )
    assert main(["status"]) == 1
    assert f"{config}: contexts.a: unknown key 'tokenfile' — did you mean 'token_file'?" in capsys.readouterr().err


def test_the_actor_is_the_login_name_even_with_no_user_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root inside `kubectl exec`: no $USER, $LOGNAME or $USERNAME; the uid still has a name."""
    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert default_actor() == f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    monkeypatch.setenv("USER", "carol")
    assert default_actor() == "cli:carol"


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_on(Terminal()) and not colour_on(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_on(Terminal())
    painted = table(["state"], [[("firing", Tone.BAD)]], colour=True)
    assert "\x1b[31mfiring" in painted  # the word says it without the colour


def test_table_cells_cannot_carry_escape_sequences() -> None:
    assert table(["alert"], [["Evil\x1b[2J\nforged"]]).splitlines() == ["ALERT", "Evil\\x1b[2J\\nforged"]


def test_an_answer_that_is_not_json_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Another server at the URL (a web page, a proxy's error page)."""
    with AppThread(_not_a_responder()) as other:
        assert main(["status", "--url", other.url]) == 1
    err = capsys.readouterr().err
    assert err == f"status: GET {other.url}/readyz: the 503 answer is not JSON; is this URL a responder?\n"


def _not_a_responder() -> web.Application:
    async def page(_: web.Request) -> web.Response:
        return web.Response(status=503, text="<html>maintenance</html>")

    app = web.Application()
    app.router.add_get("/readyz", page)
    return app
