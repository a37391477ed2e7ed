"""Which values responder.yaml's errors may repeat is decided by the schema's `x-secret` marks,
never by a key's name; a YAML syntax error never shows the source line."""

from pathlib import Path
from typing import Any

import pytest

from responder.policy import PolicyError, describe, load_policy
from responder.yamlio import YamlError, load_yaml
from tests.conftest import write_policy

NEEDLE = "n33dle-Cred3ntial-77"


def _problems(tmp_path: Path, changes: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as raised:
        load_policy(write_policy(tmp_path, changes), env={})
    return "\n".join(raised.value.problems)


@pytest.mark.parametrize(
    ("key", "wrong"),
    [
        ("escalation.slack.signing_secret", [NEEDLE]),
        ("escalation.slack.bot_token", {"value": NEEDLE}),
        ("escalation.pagerduty.webhook_secret", [NEEDLE]),
        ("escalation.pagerduty.routing_key", NEEDLE),
        ("escalation.pagerduty.routing_key", {"default": [NEEDLE]}),
        ("escalation.pagerduty.routing_key", {"default": "x", "team": {"shop": [NEEDLE]}}),
        ("escalation.sms.auth_token", [NEEDLE]),
        ("kubernetes", {"host": "https://k", "token": [NEEDLE]}),
        ("auth.basic", {"username": "am", "password": [NEEDLE]}),
    ],
)
def test_a_secret_of_the_wrong_type_is_named_but_never_shown(tmp_path: Path, key: str, wrong: Any) -> None:
    text = _problems(tmp_path, {key: wrong})
    assert "not shown" in text and "type" in text
    assert NEEDLE not in text


def test_a_section_that_holds_a_secret_is_not_shown_when_its_shape_is_wrong(tmp_path: Path) -> None:
    text = _problems(tmp_path, {"escalation.pagerduty": [{"routing_key": NEEDLE}]})
    assert "escalation.pagerduty" in text and "may hold a secret" in text
    assert NEEDLE not in text


@pytest.mark.parametrize(
    ("key", "wrong"),
    [
        ("escalation.pagerduty.routing_key", {NEEDLE: None}),  # `routing_key: {n33dle…}`: flow style, a key
        ("escalation.pagerduty.routing_key", {"default": "x", NEEDLE: "y"}),
        ("escalation.pagerduty.routing_key", {"default": "x", "team": {"shop": {NEEDLE: None}}}),
    ],
)
def test_a_secret_typed_as_a_key_is_never_shown(tmp_path: Path, key: str, wrong: Any) -> None:
    text = _problems(tmp_path, {key: wrong})
    assert "not shown" in text
    assert NEEDLE not in text


def test_a_url_that_may_carry_a_credential_is_not_shown_in_errors_or_the_plan(tmp_path: Path) -> None:
    hook = f"ftp://hooks.example/stop?token={NEEDLE}"
    assert NEEDLE not in _problems(tmp_path, {"actions.EMERGENCY_STOP.hook": {"url": hook}})
    assert NEEDLE not in _problems(tmp_path, {"escalation.slack": {"base_url": f"slack.example/{NEEDLE}"}})
    good = {"url": f"https://hooks.example/stop?token={NEEDLE}"}
    plan = "\n".join(describe(load_policy(write_policy(tmp_path, {"actions.EMERGENCY_STOP.hook": good}), env={})))
    assert "https://hooks.example/stop (credentials and query not shown)" in plan and NEEDLE not in plan


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("actions.EMERGENCY_STOP.hook", {"url": f"https://am:{NEEDLE}/x@hooks.example/stop"}),
        ("escalation.slack", {"base_url": f"https://am:{NEEDLE}?@slack.example/api/"}),
        ("alertmanager", {"urls": [f"http://am:{NEEDLE}/x@am:9093"], "receiver": "r"}),
        ("kubernetes", {"host": f"https://admin:{NEEDLE}/x@k8s:6443", "token": "t"}),
    ],
)
def test_a_url_whose_password_a_client_would_read_as_a_path_is_refused_without_showing_it(
    tmp_path: Path, key: str, value: Any
) -> None:
    text = _problems(tmp_path, {key: value})
    assert "an @ after its host" in text and NEEDLE not in text


def test_keys_in_a_section_with_secrets_are_still_named(tmp_path: Path) -> None:
    text = _problems(tmp_path, {"escalation.slack.signing_secrett": NEEDLE})
    assert "unknown key 'signing_secrett' — did you mean 'signing_secret'?" in text


def test_a_value_that_is_no_secret_is_still_shown(tmp_path: Path) -> None:
    text = _problems(tmp_path, {"server.listen": "nowhere"})
    assert "'nowhere' is not a host and port" in text


@pytest.mark.parametrize(
    "line",
    [
        f"  bearer_token: {NEEDLE}: more",
        f'  bearer_token: "{NEEDLE}',
        f"  bearer_token: *{NEEDLE}",
        f"  bearer_token: !{NEEDLE} x",
        f"  bearer_token: {NEEDLE}\t\x07",
    ],
)
def test_a_yaml_syntax_error_on_a_secrets_line_names_the_place_not_the_line(tmp_path: Path, line: str) -> None:
    path = write_policy(tmp_path)
    text = path.read_text()
    assert "bearer_token: " in text
    path.write_text("\n".join(line if "bearer_token:" in old else old for old in text.splitlines()) + "\n")
    with pytest.raises(PolicyError) as raised:
        load_policy(path, env={})
    [problem] = raised.value.problems
    assert "invalid YAML at line" in problem and "column" in problem
    assert NEEDLE not in problem


def test_a_duplicate_key_is_still_named(tmp_path: Path) -> None:
    path = write_policy(tmp_path)
    path.write_text(path.read_text() + "journal: {sqlite: x}\n")
    with pytest.raises(PolicyError) as raised:
        load_policy(path, env={})
    assert "found duplicate key 'journal'" in raised.value.problems[0]


@pytest.mark.parametrize(
    "text",
    ["auth:\n  bearer_token: 2001-13-45\n", "auth:\n  ? {a: 1}\n  : x\n", b"auth:\n  bearer_token: \xff\xfe\n"],
    ids=["impossible date", "mapping as a key", "not UTF-8"],
)
def test_a_value_yaml_cannot_build_is_an_error_in_words_not_a_traceback(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "responder.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(YamlError) as refused:
        load_yaml(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert "2001-13-45" not in str(refused.value)
