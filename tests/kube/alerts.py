"""Alertmanager notifications aimed at the real cluster's objects, and what the server saw of them."""

from typing import Any

from tests.conftest import alert_payload, cost_alert
from tests.kube.cluster import RESPONDER, RealCluster


def alert(
    action: str,
    namespace: str,
    deployment: str | None = None,
    selector: str | None = None,
    status: str = "firing",
    fingerprint: str = "4f1c2a9e8d7b6c5a",
    alertname: str = "CostBudgetExceeded",
) -> dict[str, Any]:
    """One notification whose single alert asks for `action` on a deployment or a selector."""
    target = {"target_deployment": deployment} if deployment else {"target_selector": selector or ""}
    one = cost_alert(status, fingerprint=fingerprint, action=action, target_namespace=namespace, **target)
    if not deployment:
        del one["annotations"]["target_deployment"]
    one["labels"]["alertname"] = alertname
    one["annotations"]["summary"] = f"{alertname} fired"
    return alert_payload(one, status=status)


def writes(cluster: RealCluster, namespace: str, user: str = RESPONDER) -> list[tuple[str, str, int, bool]]:
    """(verb, resource[/subresource], answer code, dry run) of every write `user` made in `namespace`, in order."""
    return [
        (
            e["verb"],
            e["objectRef"]["resource"]
            + (f"/{e['objectRef']['subresource']}" if e["objectRef"].get("subresource") else ""),
            e["responseStatus"]["code"],
            "dryRun=All" in e["requestURI"],
        )
        for e in cluster.audit(namespace, user)
        if e["verb"] not in ("get", "list", "watch")
    ]


def settled_writes(seen: list[tuple[str, str, int, bool]]) -> list[tuple[str, str, int, bool]]:
    """The writes that took effect: the deployment controller reacts to each change within milliseconds (it
    copies annotations to the ReplicaSet and rewrites the status, bumping resourceVersion), so a conditional
    write that follows another may meet a 409 and be redone on a fresh read. Those 409s are dropped here; a
    redone patch that changes nothing leaves one entry, not two."""
    kept: list[tuple[str, str, int, bool]] = []
    for write in seen:
        if write[2] != 409 and write not in kept[-1:]:
            kept.append(write)
    return kept
