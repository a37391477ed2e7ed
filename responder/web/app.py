"""The one app factory: the routes of a responder's parts, behind one authentication middleware."""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from responder.service import Responder
from responder.vocabulary import NotificationOutcome
from responder.web.audit import audit_routes
from responder.web.auth import Gate
from responder.web.console import PUBLIC as CONSOLE_PUBLIC
from responder.web.console import console
from responder.web.escalation import escalation_routes
from responder.web.holds import holds_routes
from responder.web.ops import healthz, metrics_handler, readyz_handler
from responder.web.replicas import replicas_routes
from responder.web.webhook import webhook_handler

SHUTDOWN_GRACE_SECONDS = 10.0
# Every other route needs the policy's credentials, or, for the console's pages, its session.
# Probes and the scraper carry none; the provider callbacks verify the provider's signature
# instead; the console's login and files are where a browser starts.
# (method, path): a method added later to a public path is not public by being there.
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("POST", "/slack/actions"),
        ("POST", "/pagerduty/webhook"),
        *CONSOLE_PUBLIC,
    }
)


def create_app(responder: Responder, *, lifecycle: bool = True) -> web.Application:
    """The app; `lifecycle=False` leaves starting and stopping the journal and the engine to the
    caller (a test that drives the engine by hand)."""
    policy, journal, metrics = responder.policy, responder.journal, responder.metrics
    refusals = {"/webhook": metrics.notifications.labels(NotificationOutcome.UNAUTHORIZED).inc}
    pages = console(responder)  # its session cookie opens its pages, and only them
    gate = Gate(policy, PUBLIC_ROUTES, refusals, pages.checked)
    app = web.Application(client_max_size=policy.max_body_bytes, middlewares=[gate.middleware()])
    routes = [
        web.post("/webhook", webhook_handler(policy, journal, metrics, responder.engine.accept, responder.clock)),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz_handler(journal, policy.source)),
        web.get("/metrics", metrics_handler(metrics, journal)),
        *audit_routes(journal),
        *replicas_routes(journal),
        *holds_routes(journal, responder.operator),
        *escalation_routes(
            responder.escalation.slack,
            policy.channels.pagerduty.webhook_secret,
            responder.acknowledge,
            responder.undo,
            journal.escalation,
        ),
        *pages.routes,
    ]
    app.add_routes(
        [web.RouteDef(r.method, r.path, r.handler, {**r.kwargs, "expect_handler": gate.expect}) for r in routes]
    )

    async def run(_: web.Application) -> AsyncIterator[None]:
        await journal.start()
        await responder.engine.start()
        reconciler = responder.reconciler
        reconciling = asyncio.create_task(reconciler.run(), name="reconcile") if reconciler else None
        yield
        if reconciler is not None and reconciling is not None:
            reconciling.cancel()
            await asyncio.gather(reconciling, return_exceptions=True)
            await reconciler.close()
        await responder.engine.stop(SHUTDOWN_GRACE_SECONDS)
        await responder.escalation.close()
        responder.operator.close()
        await journal.close()

    if lifecycle:
        app.cleanup_ctx.append(run)
    return app
