"""The one app factory: assemble journal, engine and routes from a policy."""

import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TextIO

from aiohttp import web

from responder.engine import Engine
from responder.escalation.router import Router, build_router
from responder.journal import Journal
from responder.journal.sqlite import SqliteJournal
from responder.metrics import Metrics, create_metrics
from responder.policy import Policy
from responder.remediation.cluster import ClusterRemediator
from responder.remediation.kube import Kube
from responder.web.audit import audit_routes
from responder.web.escalation import escalation_routes
from responder.web.holds import holds_routes
from responder.web.ops import healthz, metrics_handler, readyz_handler
from responder.web.webhook import webhook_handler

SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass
class Responder:
    policy: Policy
    journal: Journal
    engine: Engine
    operator: ClusterRemediator  # the remediator, also restore and unfreeze for the API, the CLI and Slack
    metrics: Metrics
    clock: Callable[[], float]
    escalation: Router  # channels; the Slack and PagerDuty callbacks talk back through it


def build_responder(policy: Policy, clock: Callable[[], float] = time.time, console: TextIO = sys.stdout) -> Responder:
    """Wire the parts. Actions in plan mode need no cluster; the policy requires one for the others."""
    journal = SqliteJournal(policy.journal_path)
    metrics = create_metrics()
    kube = Kube(policy.kubernetes, policy.remediation_workers) if policy.kubernetes is not None else None
    remediator = ClusterRemediator(policy, journal, kube, clock)
    router = build_router(policy, journal.escalation, console, clock)
    engine = Engine(journal, policy, remediator, router, metrics, clock)
    return Responder(policy, journal, engine, remediator, metrics, clock, router)


def create_app(responder: Responder) -> web.Application:
    policy, journal = responder.policy, responder.journal
    app = web.Application(client_max_size=policy.max_body_bytes)
    app.add_routes(
        [
            web.post(
                "/webhook",
                webhook_handler(policy, journal, responder.metrics, responder.engine.accept, responder.clock),
            ),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz_handler(journal, policy.source)),
            web.get("/metrics", metrics_handler(responder.metrics, journal)),
            *audit_routes(policy, journal),
            *holds_routes(policy, journal, responder.operator),
            *escalation_routes(responder),
        ]
    )

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await journal.start()
        await responder.engine.start()
        yield
        await responder.engine.stop(SHUTDOWN_GRACE_SECONDS)
        await responder.escalation.close()
        responder.operator.close()
        await journal.close()

    app.cleanup_ctx.append(lifecycle)
    return app
