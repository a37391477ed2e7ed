"""`responder restore` and `responder unfreeze` against a running responder, end to end over HTTP."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from responder.cli import main
from responder.cli.client_commands import call_api
from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from tests.conftest import alert_payload, cost_alert
from tests.fakes.kube import Cluster
from tests.fakes.thread import AppThread


def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_restore_and_unfreeze_round_trip_through_the_cli(
    live_policy: Callable[..., Policy], cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = live_policy()
    config = ["--config", str(Path(policy.source))]
    freeze = cost_alert(
        fingerprint="aa11bb22cc33dd44", action="FREEZE_DEPLOYMENTS", target_namespace="shop", target_deployment="cart"
    )
    with AppThread(create_app(build_responder(policy))) as server:
        url = ["--url", server.url]
        assert call_api(policy, server.url, "/webhook", alert_payload(cost_alert(), freeze))[0] == 200
        until(lambda: call_api(policy, server.url, "/api/v1/freezes/shop/cart")[0] == 423)
        until(lambda: bool(call_api(policy, server.url, "/api/v1/stops")[1]["stops"]))
        assert cluster.fake.deployment("autogen-council", "o3-audit-proxy")["spec"]["replicas"] == 0

        assert main(["restore", "autogen-council/o3-audit-proxy", "--actor", "cli:alice", *config, *url]) == 0
        assert "restored: autogen-council/o3-audit-proxy" in capsys.readouterr().out
        assert cluster.fake.deployment("autogen-council", "o3-audit-proxy")["spec"]["replicas"] == 3
        assert main(["restore", "autogen-council/o3-audit-proxy", *config, *url]) == 1
        assert "no recorded replica count" in capsys.readouterr().err

        assert main(["unfreeze", "shop/cart", *config, *url]) == 0
        assert call_api(policy, server.url, "/api/v1/freezes/shop/cart")[0] == 200
        assert not cluster.fake.deployment("shop", "cart")["spec"]["paused"]
        operations = call_api(policy, server.url, "/api/v1/operations")[1]["operations"]
        assert [(o["op"], o["ok"]) for o in operations] == [("UNFREEZE", True), ("RESTORE", False), ("RESTORE", True)]
        assert operations[2]["actor"] == "cli:alice"


def test_the_cli_says_what_is_wrong_with_a_target(
    live_policy: Callable[..., Policy], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = live_policy()
    assert main(["unfreeze", "shop", "--config", str(Path(policy.source))]) == 1
    assert "give NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector" in capsys.readouterr().err
