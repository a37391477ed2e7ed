"""`responder restore` and `responder unfreeze` against a running responder, end to end over HTTP."""

import time
from collections.abc import Callable

import pytest

from responder.cli import main
from responder.client.config import connection
from responder.client.http import Client
from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from tests.conftest import TOKEN, alert_payload, cost_alert
from tests.fakes.kube import Cluster
from tests.fakes.thread import AppThread


def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_restore_and_unfreeze_round_trip_through_the_cli(
    live_policy: Callable[..., Policy],
    cluster: Cluster,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = live_policy()
    monkeypatch.setenv("RESPONDER_TOKEN", TOKEN)
    freeze = cost_alert(
        fingerprint="aa11bb22cc33dd44", action="FREEZE_DEPLOYMENTS", target_namespace="shop", target_deployment="cart"
    )
    with AppThread(create_app(build_responder(policy))) as server:
        url = ["--url", server.url]
        api = Client(connection(None, server.url, None))
        api.post("/webhook", alert_payload(cost_alert(), freeze))
        until(lambda: api.get("/api/v1/freezes/shop/cart", accept=(423,))["frozen"])
        until(lambda: bool(api.get("/api/v1/stops")["stops"]))
        assert cluster.fake.deployment("autogen-council", "o3-audit-proxy")["spec"]["replicas"] == 0
        assert main(["holds", *url]) == 0
        holds = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
        assert [h[:3] + h[-1:] for h in holds] == [  # state, deployment, alert, since ... ago
            ["stopped", "autogen-council/o3-audit-proxy", "CostBudgetExceeded", "ago"],
            ["frozen", "shop/cart", "CostBudgetExceeded", "ago"],
        ]

        assert main(["restore", "autogen-council/o3-audit-proxy", "--actor", "cli:alice", *url]) == 0
        assert "restored: autogen-council/o3-audit-proxy" in capsys.readouterr().out
        assert cluster.fake.deployment("autogen-council", "o3-audit-proxy")["spec"]["replicas"] == 3
        assert main(["restore", "autogen-council/o3-audit-proxy", *url]) == 1
        assert "no recorded replica count" in capsys.readouterr().err

        assert main(["unfreeze", "shop/cart", *url]) == 0
        assert not api.get("/api/v1/freezes/shop/cart")["frozen"]
        assert not cluster.fake.deployment("shop", "cart")["spec"]["paused"]
        operations = api.get("/api/v1/operations")["operations"]
        assert [(o["op"], o["ok"]) for o in operations] == [("UNFREEZE", True), ("RESTORE", False), ("RESTORE", True)]
        assert operations[2]["actor"] == "cli:alice"


def test_the_cli_says_what_is_wrong_with_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unfreeze", "shop"]) == 1
    assert "give NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector" in capsys.readouterr().err
