"""`dashboards push` tells each step as soon as it is done, so a slow Grafana shows how far it got."""

import asyncio

from responder.catalogue.load import load_catalogue
from responder.dashboards.generate import build_all
from responder.dashboards.push import Token, push
from tests.conftest import REPO
from tests.fakes.grafana import FakeGrafana, running

SECRET = "glsa_secret-token-value-0123456789"


def test_each_step_is_told_as_it_is_done() -> None:
    dashboards = build_all(load_catalogue(REPO))[:2]
    fake = FakeGrafana(token=SECRET)
    told: list[tuple[str, int]] = []
    with running(fake) as url:
        lines = asyncio.run(
            push(
                url,
                Token(SECRET, "$GRAFANA_TOKEN"),
                "Alert Responder",
                None,
                dashboards,
                "",
                lambda line: told.append((line, len(fake.dashboards))),
            )
        )
    assert [line for line, _ in told] == lines
    assert [saved for _, saved in told] == [0, 1, 2]  # told after each save, not all at the end
