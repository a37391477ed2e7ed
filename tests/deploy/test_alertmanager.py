"""deploy/alertmanager.yml, checked by the real amtool (Debian package prometheus-alertmanager)."""

import subprocess

import pytest

from tests.conftest import REPO, real_binary

CONFIG = REPO / "deploy" / "alertmanager.yml"


@pytest.fixture(scope="module")
def amtool() -> str:
    return real_binary("amtool")


def _amtool(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_example_config_is_valid(amtool: str) -> None:
    result = _amtool(amtool, "check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=CostBudgetExceeded", "system=builder_hardening", "severity=critical"], "alert-responder"),
        (["alertname=AlertResponderDown", "system=responder", "severity=critical"], "sre-oncall"),
    ],
)
def test_the_responders_own_alerts_go_to_humans(amtool: str, labels: list[str], receiver: str) -> None:
    result = _amtool(amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver
