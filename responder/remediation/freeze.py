"""FREEZE_DEPLOYMENTS and its undo: pause rollouts and say who froze it, why and since when.

Several alerts may freeze one deployment; each is a holder in the freeze annotation, and an
alert's resolve only removes its own holder: the deployment stays paused while any holder
remains. A human's unfreeze removes them all. A deployment that was already paused before
the first freeze (by a person, for their own reasons) is left paused when the freeze lifts.
"""

from typing import Any

from responder.journal import Effect
from responder.remediation.kube import Kube
from responder.remediation.objects import FROZEN, Cause, Ref, annotation, encode, read_modify_write, version


async def freeze(kube: Kube, ref: Ref, cause: Cause, dry_run: bool) -> tuple[dict[str, Any], list[Effect]]:
    async def change(deployment: dict[str, Any]) -> dict[str, Any]:
        paused = bool(deployment["spec"].get("paused", False))
        state = annotation(deployment, FROZEN) or {"paused_before": paused, "holders": []}
        if paused and any(h.get("holder") == cause.holder for h in state["holders"]):
            return {"deployment": str(ref), "changed": False, "note": "already paused and frozen by this alert"}
        state = {**state, "holders": [*state["holders"], cause.record()]}
        patch = {
            "metadata": {"resourceVersion": version(deployment), "annotations": {FROZEN: encode(state)}},
            "spec": {"paused": True},
        }
        await kube.patch_deployment(ref.namespace, ref.name, patch, dry_run)
        return {"deployment": str(ref), "changed": not dry_run, "paused": True, "holders": len(state["holders"])}

    result = await read_modify_write(kube, ref, change)
    detail = {"alert": cause.alert, "reason": cause.reason}
    return result, [] if dry_run else [Effect("frozen", ref.namespace, ref.name, True, cause.holder, detail)]


async def unfreeze(kube: Kube, ref: Ref, holder: str | None, dry_run: bool) -> tuple[dict[str, Any], list[Effect]]:
    """Remove `holder` (or, for a person, every holder); resume rollouts when none is left."""

    async def change(deployment: dict[str, Any]) -> dict[str, Any]:
        state = annotation(deployment, FROZEN)
        if state is None:
            return {"deployment": str(ref), "changed": False, "note": "not frozen by the responder; nothing to do"}
        left = [h for h in state["holders"] if holder is not None and h.get("holder") != holder]
        if left:
            patch: dict[str, Any] = {"annotations": {FROZEN: encode({**state, "holders": left})}}
            outcome = {"still_frozen_by": sorted({h.get("alert", "?") for h in left})}
            spec: dict[str, Any] = {}
        else:
            patch = {"annotations": {FROZEN: None}}
            spec = {"paused": bool(state.get("paused_before", False))}
            outcome = {"paused": spec["paused"]}
        body = {"metadata": {"resourceVersion": version(deployment), **patch}, **({"spec": spec} if spec else {})}
        await kube.patch_deployment(ref.namespace, ref.name, body, dry_run)
        return {"deployment": str(ref), "changed": not dry_run, **outcome}

    result = await read_modify_write(kube, ref, change)
    return result, [] if dry_run else [Effect("frozen", ref.namespace, ref.name, False, holder)]
