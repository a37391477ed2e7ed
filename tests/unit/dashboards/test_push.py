"""`responder dashboards push` against the fake Grafana API (tests/fakes/grafana.py)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from responder import cli
from responder.catalogue.load import load_catalogue
from responder.dashboards.build import BuiltDashboard
from responder.dashboards.generate import build_all
from responder.dashboards.push import PushError, Token, folder_uid, push
from tests.conftest import REPO
from tests.fakes.grafana import FakeGrafana, running

SECRET = "glsa_secret-token-value-0123456789"


@pytest.fixture(scope="module")
def dashboards() -> list[BuiltDashboard]:
    return build_all(load_catalogue(REPO))


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana(token=SECRET)
    with running(fake) as url:
        yield fake, url


def _push(url: str, dashboards: list[BuiltDashboard], token: str = SECRET) -> list[str]:
    return asyncio.run(push(url, Token(token, "$GRAFANA_TOKEN"), "Alert Responder", None, dashboards))


def test_push_creates_the_folder_and_saves_every_dashboard_into_it(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    fake, url = grafana
    lines = _push(url, dashboards)
    assert lines[0] == "created folder 'Alert Responder' (alert-responder)"
    assert set(fake.dashboards) == {d.model["uid"] for d in dashboards}
    assert {s.folder_uid for s in fake.dashboards.values()} == {"alert-responder"}
    assert fake.authorizations == {f"Bearer {SECRET}"}
    assert lines[1].startswith(f"pushed alert-responder-acgs (version 1): {url}/d/alert-responder-acgs/acgs")


def test_a_second_push_finds_the_folder_and_overwrites(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    fake, url = grafana
    _push(url, dashboards[:1])
    lines = _push(url, dashboards[:1])
    assert lines[0] == "folder 'Alert Responder' (alert-responder) exists"
    assert "(version 2)" in lines[1]
    assert fake.requests.count(("POST", "/api/folders")) == 1


def test_a_rejected_token_says_where_it_came_from_and_never_shows_it(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    _, url = grafana
    with pytest.raises(PushError) as caught:
        _push(url, dashboards, token="glsa_wrong-token-0000")
    assert str(caught.value) == (
        "looking up folder alert-responder: 401 Invalid API key; the token from $GRAFANA_TOKEN is invalid or expired"
    )
    assert "glsa_" not in str(caught.value)


def test_a_version_mismatch_is_reported_with_grafanas_status(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    fake, url = grafana
    mismatch = {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
    fake.answer_next["/api/dashboards/db"] = (412, mismatch)
    with pytest.raises(PushError, match="saving dashboard alert-responder-acgs: 412 version-mismatch: The dashboard"):
        _push(url, dashboards[:1])


def test_an_invalid_dashboard_is_reported_with_grafanas_message(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    _, url = grafana
    broken = BuiltDashboard("x", "x", {**dashboards[0].model, "title": ""}, {})
    with pytest.raises(PushError, match="400 Dashboard title cannot be empty"):
        _push(url, [broken])


def test_the_fake_answers_412_when_not_overwriting_a_changed_dashboard(
    grafana: tuple[FakeGrafana, str], dashboards: list[BuiltDashboard]
) -> None:
    """The fake's own semantics, checked once so that the canned 412 above is a shape it really has."""
    _, url = grafana
    _push(url, dashboards[:1])

    async def stale_save() -> tuple[int, dict[str, object]]:
        body = {"dashboard": {**dashboards[0].model, "version": 0}, "folderUid": "alert-responder", "overwrite": False}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/api/dashboards/db", json=body, headers={"Authorization": f"Bearer {SECRET}"}) as r,
        ):
            return r.status, await r.json()

    assert asyncio.run(stale_save()) == (
        412,
        {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
    )


def test_the_command_reads_the_token_from_a_file_and_never_prints_it(
    grafana: tuple[FakeGrafana, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = grafana
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    argv = ["dashboards", "--root", str(REPO), "push", "--url", url, "--folder", "SRE", "--token-file", str(token_file)]
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert len(fake.dashboards) == len(list((REPO / "dashboards").glob("*.json")))


def test_a_missing_token_is_explained(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert cli.main(["dashboards", "--root", str(REPO), "push", "--url", "http://127.0.0.1:9", "--folder", "x"]) == 1
    assert "no Grafana token in $GRAFANA_TOKEN" in capsys.readouterr().err


def test_an_unreachable_grafana_is_explained(dashboards: list[BuiltDashboard]) -> None:
    with pytest.raises(PushError, match=r"cannot reach Grafana at http://127.0.0.1:9"):
        _push("http://127.0.0.1:9", dashboards[:1])


def test_folder_uids_fit_grafanas_limit() -> None:
    assert folder_uid("Alert Responder / Production") == "alert-responder-production"
    assert len(folder_uid("x" * 80)) == 40
    assert repr(Token(SECRET, "$GRAFANA_TOKEN")) == "Token(from $GRAFANA_TOKEN)"
