import logging
import os
from pathlib import Path

import pytest

from responder.secrets import Secret, expand_env, read_secret, shown_url, url_problem


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret("xoxb-real-value")
    assert "xoxb" not in repr(secret) and "xoxb" not in str(secret) and "xoxb" not in f"{[secret]}"


def test_a_secret_is_read_inline_or_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-the-file\n")
    problems: list[str] = []
    assert read_secret({"token": "inline"}, "token", "auth", problems) == Secret("inline")
    assert read_secret({"token_file": str(tmp_path / "token")}, "token", "auth", problems) == Secret("from-the-file")
    assert read_secret({}, "token", "auth", problems) is None
    assert problems == []


def test_a_secret_given_twice_or_from_an_empty_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    problems: list[str] = []
    read_secret({"token": "a", "token_file": str(tmp_path / "empty")}, "token", "auth", problems)
    assert problems == [
        "auth: give token or token_file, not both",
        f"auth.token_file: {tmp_path / 'empty'} is empty; put the credential in it",
    ]


def test_an_unset_variable_is_a_problem_except_under_the_soft_sections() -> None:
    document = {"auth": {"token": "${HARD}"}, "channels": {"slack": ["x-${SOFT}", "${SET}"]}}
    problems: list[str] = []
    soft: list[str] = []
    expanded = expand_env(document, {"SET": "value"}, ("channels.slack",), problems, soft)
    assert expanded == {"auth": {"token": ""}, "channels": {"slack": ["x-", "value"]}}
    assert problems == ["auth.token: environment variable HARD is not set; export it"]
    assert soft == ["channels.slack[0]: environment variable SOFT is not set; export it"]


@pytest.mark.parametrize(("mode", "who"), [(0o644, "group and others"), (0o640, "its group"), (0o604, "others")])
def test_a_credentials_file_others_may_read_is_used_with_a_warning_saying_how_to_close_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, who: str
) -> None:
    path = tmp_path / "token"
    path.write_text("from-the-file\n")
    path.chmod(mode)
    problems: list[str] = []
    assert read_secret({"token_file": str(path)}, "token", "auth", problems) == Secret("from-the-file")
    assert problems == []
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert f"auth.token_file: {path} is readable by {who}" in warning.getMessage()
    assert f"chmod 600 {path}" in warning.getMessage()


def test_a_private_credentials_file_is_read_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "token"
    path.write_text("from-the-file\n")
    path.chmod(0o600)
    assert read_secret({"token_file": str(path)}, "token", "auth", []) == Secret("from-the-file")
    assert caplog.records == []


def secret_volume_file(volume: Path, mode: int) -> Path:
    """The file `dsn` in `volume` laid out as kubelet writes a Secret volume: the data in a
    timestamped directory, `..data` a symlink to it, and `dsn` a symlink to `..data/dsn`."""
    data = volume / "..2024_05_01_12_00_00.000000001"
    data.mkdir(parents=True)
    (data / "dsn").write_text("postgresql://responder@db.example/responder\n")
    (data / "dsn").chmod(mode)
    (volume / "..data").symlink_to(data.name)
    (volume / "dsn").symlink_to("..data/dsn")
    return volume / "dsn"


def test_a_secret_volume_file_only_our_group_may_read_is_read_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = secret_volume_file(tmp_path / "alert-responder-db", 0o440)
    assert path.stat().st_gid == os.getegid()
    problems: list[str] = []
    assert read_secret({"dsn_file": str(path)}, "dsn", "journal.postgresql", problems) is not None
    assert problems == []
    assert caplog.records == []


def assert_secret_volume_warning(path: Path, who: str, caplog: pytest.LogCaptureFixture) -> None:
    assert read_secret({"dsn_file": str(path)}, "dsn", "journal.postgresql", []) is not None
    [warning] = caplog.records
    said = warning.getMessage()
    assert warning.levelno == logging.WARNING
    assert f"journal.postgresql.dsn_file: {path} is readable by {who}" in said
    assert "defaultMode to 0440" in said and "fsGroup" in said and "chmod" not in said


@pytest.mark.parametrize("mode", [0o444, 0o644])
def test_a_secret_volume_file_others_may_read_warns_to_set_the_volume_default_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    path = secret_volume_file(tmp_path / "alert-responder-db", mode)
    assert_secret_volume_warning(path, "group and others", caplog)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file a group this process is not in needs root")
def test_a_secret_volume_file_whose_group_is_not_ours_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ours = {os.getegid(), *os.getgroups()}
    other = next(gid for gid in range(4242, 70000) if gid not in ours)
    path = secret_volume_file(tmp_path / "alert-responder-db", 0o440)
    os.chown(path, -1, other)
    assert_secret_volume_warning(path, "its group", caplog)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/stop", "https://hooks.example/stop"),
        ("https://hooks.example/stop?token=n33dle", "https://hooks.example/stop (credentials and query not shown)"),
        ("https://am:n33dle@hooks.example:8443/s", "https://hooks.example:8443/s (credentials and query not shown)"),
        ("http://127.0.0.1:9/x#n33dle", "http://127.0.0.1:9/x (credentials and query not shown)"),
        ("https://am:n33/dle@hooks.example/s", "(a URL not shown: it may carry a credential)"),  # / ends the host
        ("https://am:n33dle@[::1/s", "(a URL not shown: it may carry a credential)"),
    ],
)
def test_a_url_is_shown_without_what_may_carry_a_credential(url: str, shown: str) -> None:
    assert shown_url(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://am:n33/dle@hooks.example/s", "an @ after its host"),
        ("https://am:n33?dle@hooks.example/s", "an @ after its host"),
        ("https://am:n33dle@[::1/s", "host or port cannot be read"),
        ("https://hooks.example:n33dle/s", "host or port cannot be read"),
        ("https:///s", "names no host"),
    ],
)
def test_a_url_a_client_would_misread_is_a_problem_that_repeats_none_of_it(url: str, problem: str) -> None:
    said = url_problem(url)
    assert said is not None and problem in said and "n33" not in said
    assert url_problem("https://am:n33%2Fdle@hooks.example:8443/s?x=1") is None
