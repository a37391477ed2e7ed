"""What a Now row says, from the journal's listing entry: plain functions over plain values."""

from typing import Any

from responder.web.console.views import holds, link, row


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fingerprint": "fp",
        "starts_at": "2026-11-23T13:00:00Z",
        "status": "firing",
        "alertname": "X",
        "severity": "critical",
        "action": "EMERGENCY_STOP",
        "labels": {},
        "annotations": {"target_namespace": "shop", "target_deployment": "cart"},
        "acknowledged": None,
        "decision": None,
        "steps": [],
    }
    return {**entry, **changes}


def _step(kind: str, name: str, status: str, due_at: float = 0.0, last: Any = None, **params: Any) -> dict[str, Any]:
    return {"kind": kind, "name": name, "params": params, "status": status, "due_at": due_at, "last": last}


def test_a_guards_refusal_is_said_with_its_reason_and_marks_trouble() -> None:
    refusal = {"guard": "cooldown", "reason": "changed 3m ago", "target": "shop/cart"}
    shown = row(_entry(decision={"refusals": [refusal]}))
    assert shown.did == ["refused by cooldown shop/cart: changed 3m ago"] and shown.trouble
    assert shown.targets == ["shop/cart"]


def test_what_a_remediation_did_to_each_deployment_and_the_next_rung() -> None:
    outcome = {
        "status": "succeeded",
        "detail": {"targets": [{"deployment": "shop/a", "replicas": {"from": 3, "to": 0}}]},
    }
    steps = [
        _step(
            "remediation", "EMERGENCY_STOP", "succeeded", last=outcome, target={"namespace": "shop", "selector": "x"}
        ),
        _step("escalation", "sms", "pending", due_at=900.0),
        _step("escalation", "pagerduty", "pending", due_at=60.0),
        _step("escalation", "slack", "succeeded", due_at=0.0),
    ]
    shown = row(_entry(steps=steps))
    assert shown.did == ["EMERGENCY_STOP succeeded: shop/a 3 → 0"] and not shown.trouble
    assert (shown.next_rung, shown.next_at) == ("pagerduty", 60.0)
    assert shown.targets == ["shop/cart", "shop/x"]
    failed = row(
        _entry(steps=[_step("remediation", "FREEZE_DEPLOYMENTS", "failed", last={"detail": {"error": "403"}})])
    )
    assert failed.trouble and failed.did == ["FREEZE_DEPLOYMENTS failed: error: 403"]


def test_only_http_links_are_links() -> None:
    assert link("https://runbooks.example/x") == "https://runbooks.example/x"
    for value in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil", "http:/x", 7):
        assert link(value) is None, value


def test_holds_are_grouped_per_deployment_with_the_gates_answer() -> None:
    found: list[dict[str, Any]] = [
        {"state": "stopped", "namespace": "shop", "deployment": "a", "holder": "f@1", "since": 1.0, "replicas": 4},
        {"state": "frozen", "namespace": "shop", "deployment": "a", "holder": "g@2", "since": 2.0},
        {"state": "frozen", "namespace": "shop", "deployment": "b", "holder": None, "since": 3.0},
    ]
    a, b = holds(found)
    assert (a.states, a.replicas, len(a.holders)) == (["frozen", "stopped"], 4, 2)
    assert a.gate.startswith("423") and b.gate.startswith("423") and b.replicas is None
    assert holds([found[0]])[0].gate.startswith("200")
