"""The in-cluster policy ships changing nothing, and check-config warns of each live action."""

from pathlib import Path

from responder.manifests import POLICY
from responder.policy import describe, load_policy

ENV = {"RESPONDER_TOKEN": "t" * 32}


def warnings(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "WARNING" in line and "is live" in line]


def test_the_shipped_in_cluster_policy_is_a_dry_run_and_check_config_warns_of_nothing() -> None:
    policy = load_policy(POLICY, env=ENV)
    assert {a.mode for a in policy.actions.values()} == {"server"}
    assert warnings("\n".join(describe(policy))) == []


def test_the_one_line_change_to_go_live_makes_check_config_warn_for_that_action(tmp_path: Path) -> None:
    text = POLICY.read_text()
    live = tmp_path / "policy.yaml"
    live.write_text(text.replace("  EMERGENCY_STOP:\n    mode: server", "  EMERGENCY_STOP:\n    mode: live", 1))
    assert warnings("\n".join(describe(load_policy(live, env=ENV)))) == [
        "WARNING: EMERGENCY_STOP is live: the first matching alert changes the cluster; "
        "set its mode to server to watch what it would do first"
    ]
