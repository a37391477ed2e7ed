from collections.abc import Callable
from pathlib import Path

import pytest

from responder.policy import Policy, PolicyError, describe, load_policy
from tests.conftest import TOKEN, write_policy


def test_the_embedded_default_is_plan_only_and_reads_its_token_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var" / "responder").mkdir(parents=True)
    (tmp_path / "var" / "responder" / "token").write_text("from-the-file-0123456789\n")
    policy = load_policy(None, env={})
    assert {a.mode for a in policy.actions.values()} == {"plan"}
    assert policy.bearer_token is not None and policy.bearer_token.value == "from-the-file-0123456789"
    assert "alert-responder" in policy.protected_namespaces


def test_secrets_come_from_the_environment_and_never_print(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"auth": {"bearer_token": "${AM_TOKEN}"}})
    policy = load_policy(path, env={"AM_TOKEN": "s3cret-value-from-env"})
    assert policy.bearer_token is not None and policy.bearer_token.value == "s3cret-value-from-env"
    assert "s3cret" not in repr(policy) and "s3cret" not in "\n".join(describe(policy))


def test_every_problem_is_reported_with_its_key_and_what_to_do(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "auth": {"bearer_token": "${MISSING}", "basic": {"username": "am", "password_file": "/nonexistent"}},
            "actions.EMERGENCY_STOP.mode": "yolo",
        },
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(path, env={})
    text = "\n".join(raised.value.problems)
    assert "auth.bearer_token: environment variable MISSING is not set; export it" in text
    assert "actions.EMERGENCY_STOP.mode: 'yolo' is not one of" in text


def test_a_missing_secret_file_says_which_key_and_path(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"auth": {"bearer_token_file": str(tmp_path / "nope")}})
    with pytest.raises(PolicyError, match=r"auth\.bearer_token_file: cannot read .*nope.*create it"):
        load_policy(path, env={})


def test_an_action_left_out_is_disabled_not_defaulted_to_everywhere(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy({"actions": {"INVESTIGATE": {"mode": "plan"}}})
    assert policy.actions["EMERGENCY_STOP"].mode == "disabled"
    assert policy.actions["INVESTIGATE"].allowed_namespaces == ()


def test_check_config_describes_the_plan_in_words(make_policy: Callable[..., Policy]) -> None:
    text = "\n".join(describe(make_policy()))
    assert "EMERGENCY_STOP (plan: records exactly what it would do, changes nothing)" in text
    assert "every severity: slack, pagerduty, sms at once" in text
    assert "critical: slack, pagerduty at once; sms after 15m unless acknowledged" in text
    assert "warning: slack at once; pagerduty after 60m unless acknowledged" in text
    assert "on resolve: tells humans it is safe to unfreeze" in text
    assert TOKEN not in text


def test_a_secret_that_fails_validation_is_not_repeated_in_the_error(tmp_path: Path) -> None:
    path = write_policy(tmp_path, {"auth": {"bearer_token": "${SHORT}"}})
    with pytest.raises(PolicyError) as raised:
        load_policy(path, env={"SHORT": "hunter2-short"})
    text = "\n".join(raised.value.problems)
    assert "auth.bearer_token" in text and "minLength" in text
    assert "hunter2" not in text


def test_the_alertmanager_section_turns_reconciliation_on_and_says_so_without_its_credentials(
    make_policy: Callable[..., Policy],
) -> None:
    off = "\n".join(describe(make_policy()))
    assert "Reconciliation: off" in off
    policy = make_policy(
        {
            "alertmanager": {
                "urls": ["http://am-0:9093", "https://am:s3cret-pass@am-1:9093/"],
                "receiver": "alert-responder",
                "interval": "30s",
                "bearer_token": "am-bearer-token-123",
            }
        }
    )
    assert policy.alertmanager is not None
    assert (policy.alertmanager.interval_seconds, policy.alertmanager.grace_seconds) == (30, 600)
    words = "\n".join(describe(policy))
    assert "every 30s, and at start" in words and "receiver 'alert-responder'" in words
    assert "s3cret-pass" not in words and "am-bearer-token-123" not in words
    assert "am-bearer-token-123" in policy.logged_secrets(), "the log scrubber knows it"


def test_a_lease_shorter_than_twice_the_step_timeout_is_refused_saying_why(tmp_path: Path) -> None:
    changes = {"workers.step_timeout": "1m", "workers.lease": "90s"}
    with pytest.raises(PolicyError) as raised:
        load_policy(write_policy(tmp_path, changes), env={})
    assert any("set lease to at least twice step_timeout" in p for p in raised.value.problems)
    policy = load_policy(write_policy(tmp_path, {**changes, "workers.lease": "2m"}), env={})
    assert policy.lease_seconds == 120


def test_a_retention_shorter_than_a_day_is_refused_saying_why(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy(write_policy(tmp_path, {"journal.retention": "10s"}), env={})
    assert any("journal.retention: keep at least 1d" in p for p in raised.value.problems)
