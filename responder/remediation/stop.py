"""EMERGENCY_STOP and its undo: record the replica count on the object, scale to zero; restore.

The record is written before the scale, each write conditional on the resourceVersion just
read, so a crash or a concurrent change can never leave a deployment at zero with no record
of what it ran before, nor overwrite a record with a count someone else set in between.
A deployment already at zero is left alone: there is nothing to record and nothing to stop.
"""

from typing import Any

from responder.journal import Effect
from responder.remediation.kube import Kube
from responder.remediation.objects import STOPPED, Cause, Ref, annotation, encode, read_modify_write, version


async def stop(kube: Kube, ref: Ref, cause: Cause, dry_run: bool) -> tuple[dict[str, Any], list[Effect]]:
    async def change(deployment: dict[str, Any]) -> dict[str, Any]:
        replicas = int(deployment["spec"].get("replicas", 1))
        if replicas == 0:
            held = annotation(deployment, STOPPED)
            recorded = f" (recorded {held['replicas']})" if held else ""
            note = f"already at 0 replicas{recorded}; nothing to do"
            return {"deployment": str(ref), "changed": False, "note": note, "record": held}
        record = {**cause.record(), "replicas": replicas}
        patch = {"metadata": {"resourceVersion": version(deployment), "annotations": {STOPPED: encode(record)}}}
        patched = await kube.patch_deployment(ref.namespace, ref.name, patch, dry_run)
        await kube.scale(ref.namespace, ref.name, 0, version(patched), dry_run)
        return {
            "deployment": str(ref),
            "changed": not dry_run,
            "replicas": {"from": replicas, "to": 0},
            "record": record,
        }

    result = await read_modify_write(kube, ref, change)
    effects = [] if dry_run or result["record"] is None else [_held(ref, cause, result["record"])]
    return result, effects


def _held(ref: Ref, cause: Cause, record: dict[str, Any]) -> Effect:
    detail = {"replicas": record["replicas"], "alert": cause.alert, "reason": cause.reason}
    return Effect("stopped", ref.namespace, ref.name, True, cause.holder, detail)


async def restore(kube: Kube, ref: Ref, dry_run: bool) -> tuple[dict[str, Any], list[Effect]]:
    """Scale back to the recorded count, then clear the record; refuses when there is none.

    The count it scaled from is kept across a retry: when clearing the record meets a conflict
    (the deployment controller writes the object as soon as it is scaled), the fresh read finds
    the count this restore just set."""
    scaled_from: list[int] = []

    async def change(deployment: dict[str, Any]) -> dict[str, Any]:
        record = annotation(deployment, STOPPED)
        if record is None or not isinstance(record.get("replicas"), int):
            return {
                "deployment": str(ref),
                "changed": False,
                "refused": f"{ref} has no recorded replica count ({STOPPED} annotation); the responder did "
                "not stop it, or it was already restored. Scale it by hand if it should run.",
            }
        current = int(deployment["spec"].get("replicas", 0))
        if current != record["replicas"]:
            await kube.scale(ref.namespace, ref.name, record["replicas"], version(deployment), dry_run)
            scaled_from.append(current)
            deployment = await kube.get_deployment(ref.namespace, ref.name) if not dry_run else deployment
        patch = {"metadata": {"resourceVersion": version(deployment), "annotations": {STOPPED: None}}}
        await kube.patch_deployment(ref.namespace, ref.name, patch, dry_run)
        return {
            "deployment": str(ref),
            "changed": not dry_run,
            "replicas": {"from": scaled_from[0] if scaled_from else current, "to": record["replicas"]},
            "stopped_by": record.get("alert"),
        }

    result = await read_modify_write(kube, ref, change)
    # With no record on the object nothing is held either: the journal's entry goes too.
    return result, [] if dry_run else [Effect("stopped", ref.namespace, ref.name, False)]
