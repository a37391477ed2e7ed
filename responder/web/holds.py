"""The deploy gate and the human undo (authenticated by the app's middleware).

GET  /api/v1/freezes                              every frozen deployment
GET  /api/v1/freezes/{namespace}[/{deployment}]   200 when deploys may proceed, 423 while frozen
GET  /api/v1/stops                                every deployment an emergency stop holds at zero
POST /api/v1/restore   {"namespace", "deployment" | "selector", "actor"?}
POST /api/v1/unfreeze  {"namespace", "deployment" | "selector", "actor"?}
GET  /api/v1/operations                           who restored or unfroze what, newest first

The gate answers from the journal, not the cluster: it stays fast and available to CD
pipelines, needs no cluster-wide read permission, and a freeze lasts until it is lifted
through the responder (which lifts it on the cluster too), whatever kubectl did meanwhile.
A 423 names the alert, the reason, the time and the command that lifts it. A 200 while a
FREEZE alert fires whose freeze only ran in `plan` or `server` mode says that a live responder
would have frozen the deployment, and for which alert: the gate's answer in those modes is
what they are for.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from responder.journal import Journal
from responder.remediation import Operator, OperatorResult
from responder.remediation.plan import planned
from responder.targets import Target
from responder.vocabulary import Action, Undo
from responder.web.bodies import API_BODY, read_json
from responder.web.errors import Problem, error

Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_OPERATIONS = 200
_SEND = 'a JSON object with "namespace" and "deployment" (or "selector")'


def _target(body: Any) -> Target | str:
    """The target a human named, or what is wrong with the request body."""
    if not isinstance(body, dict) or not isinstance(body.get("namespace"), str) or not body["namespace"]:
        return f"send {_SEND}"
    deployment, selector = body.get("deployment"), body.get("selector")
    if bool(deployment) == bool(selector) or not isinstance(deployment or selector, str):
        return 'name exactly one of "deployment" or "selector"'
    return Target(body["namespace"], deployment, selector)


def _covers(target: Target, namespace: str, deployment: str | None) -> bool:
    """Whether freezing `target` would hold deploys to `namespace` (to `deployment` in it, when
    given); a selector's matches are unknown without the cluster, so it is taken to match."""
    return target.namespace == namespace and deployment in (None, target.deployment or deployment)


def holds_routes(journal: Journal, operator: Operator) -> list[web.RouteDef]:
    async def freezes(_: web.Request) -> web.Response:
        return web.json_response({"freezes": await journal.holds("frozen")})

    async def stops(_: web.Request) -> web.Response:
        return web.json_response({"stops": await journal.holds("stopped")})

    async def gate(request: web.Request) -> web.Response:
        namespace, deployment = request.match_info["namespace"], request.match_info.get("deployment")
        found = [h for h in await journal.holds("frozen", namespace) if deployment in (None, h["deployment"])]
        scope = f"{namespace}/{deployment}" if deployment else f"namespace {namespace}"
        if not found:
            return web.json_response({"frozen": False, "detail": await would_freeze(namespace, deployment, scope)})
        lift = sorted({f"responder unfreeze {h['namespace']}/{h['deployment']}" for h in found})
        reasons = "; ".join(f"{h['namespace']}/{h['deployment']} by {h.get('alert', '?')}" for h in found)
        return web.json_response(
            {
                "frozen": True,
                "detail": f"deploys to {scope} are frozen ({reasons}); when it is safe: {', '.join(lift)}",
                "freezes": found,
            },
            status=423,
        )

    async def would_freeze(namespace: str, deployment: str | None, scope: str) -> str:
        firing = await planned(journal, Action.FREEZE_DEPLOYMENTS, {"status": "firing"})
        alerts = sorted({p.alertname for p in firing if p.mode != "live" and _covers(p.target, namespace, deployment)})
        if not alerts:
            return f"deploys to {scope} may proceed"
        return (
            f"deploys to {scope} may proceed: FREEZE_DEPLOYMENTS is not live, so nothing is frozen; a live "
            f"responder would have frozen it for {', '.join(alerts)}"
        )

    def undo(name: Undo, run: Callable[[Target, str], Awaitable[OperatorResult]]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            body = await read_json(request, API_BODY, _SEND)
            target = _target(body)
            if isinstance(target, str):
                return error(400, Problem.INVALID, target)
            result = await run(target, str(body.get("actor") or "api")[:100])
            answer = {"ok": result.ok, "operation": name, "message": result.message, **result.detail}
            return web.json_response(answer, status=200 if result.ok else 409)

        return handler

    async def operations(_: web.Request) -> web.Response:
        return web.json_response({"operations": await journal.operations(MAX_OPERATIONS)})

    return [
        web.get("/api/v1/freezes", freezes),
        web.get("/api/v1/freezes/{namespace}", gate),
        web.get("/api/v1/freezes/{namespace}/{deployment}", gate),
        web.get("/api/v1/stops", stops),
        web.post("/api/v1/restore", undo(Undo.RESTORE, operator.restore)),
        web.post("/api/v1/unfreeze", undo(Undo.UNFREEZE, operator.unfreeze)),
        web.get("/api/v1/operations", operations),
    ]
