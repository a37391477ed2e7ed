"""/healthz (the process answers), /readyz (a write to the journal would succeed now, config
loaded), /metrics. Readiness is what the journal last found (its last write, its free space
against the reserve), so that Kubernetes stops sending notifications to a replica that cannot
store them; the 503 says why and what to do. A shared journal's server that may lose commits
(fsync = off) leaves the replica ready, as refusing would change nothing, but every answer
carries the warning under "durability"."""

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from responder.journal import Journal
from responder.metrics import Metrics
from responder.vocabulary import HoldState
from responder.web.replicas import shared


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


Handler = Callable[[web.Request], Awaitable[web.Response]]


def readyz_handler(journal: Journal, policy_source: str) -> Handler:
    fleet = shared(journal)

    async def readyz(_: web.Request) -> web.Response:
        warning = {"durability": fleet.durability_warning} if fleet and fleet.durability_warning else {}
        problem = journal.write_problem()
        if problem is not None:
            return web.json_response({"status": "not ready", "journal": problem, **warning}, status=503)
        ready = {"status": "ready", "policy": policy_source, "backlog": journal.backlog()}
        return web.json_response({**ready, **warning})

    return readyz


def metrics_handler(metrics: Metrics, journal: Journal) -> Handler:
    async def serve(_: web.Request) -> web.Response:
        metrics.backlog.set(journal.backlog())
        holds = await journal.holds()
        for state in HoldState:
            metrics.held.labels(state).set(
                len({(h["namespace"], h["deployment"]) for h in holds if h["state"] == state})
            )
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return serve
