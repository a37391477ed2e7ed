"""The console's pages: Now, an alert instance, Holds (and the confirmation of an undo),
Operations and Health. Every one reads through the journal protocol and renders server-side;
Now and Holds are re-fetched by the console's script for their live region."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from responder.journal import Journal, Listing
from responder.metrics import Metrics
from responder.policy import Policy, describe
from responder.vocabulary import ACTIONS, SEVERITIES, HoldState, StepKind, Undo
from responder.web.console import views
from responder.web.console.render import Renderer
from responder.web.console.security import session_of
from responder.web.console.sessions import Sessions

PAGE_SIZE = 50
MAX_OPERATIONS = 200
MAX_QUERY = 100  # characters of a filter or the search
STATUSES = ("firing", "resolved", "all")
LABEL_FILTERS = ("team", "system")


def _query(request: web.Request, name: str) -> str:
    return request.query.get(name, "").strip()[:MAX_QUERY]


def _page_number(request: web.Request) -> int:
    given = request.query.get("page", "1")
    return int(given) if given.isascii() and given.isdigit() and 0 < len(given) <= 4 and int(given) > 0 else 1


@dataclass(frozen=True)
class Pages:
    journal: Journal
    policy: Policy
    metrics: Metrics
    sessions: Sessions
    renderer: Renderer

    def _render(self, request: web.Request, template: str, context: Mapping[str, Any]) -> web.Response:
        session = session_of(request)
        base = {"session": session, "csrf": self.sessions.csrf_token(session), "path": request.path}
        return self.renderer.page(request, template, {**base, **context})

    async def now(self, request: web.Request) -> web.Response:
        status = _query(request, "status") or "firing"
        filters = {name: _query(request, name) for name in ("severity", "action", "q", *LABEL_FILTERS)}
        page = _page_number(request)
        listing = Listing(
            status=None if status == "all" else status,
            severity=filters["severity"] or None,
            action=filters["action"] or None,
            labels={name: filters[name] for name in LABEL_FILTERS if filters[name]},
            search=filters["q"],
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
        found = await self.journal.listing(listing)
        context = {
            "title": "Now",
            "rows": [views.row(e) for e in found[:PAGE_SIZE]],
            "more": len(found) > PAGE_SIZE,
            "page": page,
            "status": status,
            "filters": filters,
            "statuses": STATUSES,
            "severities": SEVERITIES,
            "actions": ACTIONS,
        }
        return self._render(request, "now.html", context)

    async def alert(self, request: web.Request) -> web.Response:
        fingerprint = request.match_info["fingerprint"]
        instances = await self.journal.timeline(fingerprint)
        if not instances:
            raise web.HTTPNotFound(text=f"no alert with fingerprint {fingerprint}; go back to /console/")
        wanted = request.query.get("starts_at")
        instance = next((i for i in instances if i["starts_at"] == wanted), instances[-1])
        listed = await self.journal.listing(Listing(fingerprint=fingerprint, limit=len(instances)))
        state = next((e for e in listed if e["starts_at"] == instance["starts_at"]), None)
        annotations = instance["annotations"]
        context = {
            "title": instance["alertname"],
            "instance": instance,
            "others": [i["starts_at"] for i in instances if i is not instance],
            "links": {k: v for k, v in annotations.items() if views.link(v)},
            "remediations": [s for s in instance["steps"] if s["kind"] == StepKind.REMEDIATION],
            "escalations": [s for s in instance["steps"] if s["kind"] == StepKind.ESCALATION],
            "acknowledged": state["acknowledged"] if state else None,
        }
        return self._render(request, "alert.html", context)

    async def holds(self, request: web.Request) -> web.Response:
        context = {"title": "Holds", "holds": views.holds(await self.journal.holds())}
        return self._render(request, "holds.html", context)

    async def confirm(self, request: web.Request) -> web.Response:
        """The question before an undo: what it lifts, named, with the replica count recorded."""
        undo, namespace, deployment = (_query(request, k) for k in ("undo", "namespace", "deployment"))
        if undo not in tuple(Undo):
            raise web.HTTPBadRequest(text="undo must be restore or unfreeze; use the buttons on /console/holds")
        state = HoldState.STOPPED if undo == Undo.RESTORE else HoldState.FROZEN
        held = [h for h in await self.journal.holds(state, namespace) if h["deployment"] == deployment]
        grouped = views.holds(held)
        context = {
            "title": f"{undo.capitalize()} {namespace}/{deployment}?",
            "undo": undo,
            "hold": grouped[0] if grouped else None,
            "namespace": namespace,
            "deployment": deployment,
        }
        return self._render(request, "confirm.html", context)

    async def operations(self, request: web.Request) -> web.Response:
        operations = await self.journal.operations(MAX_OPERATIONS)
        acks = await self.journal.acknowledgements(MAX_OPERATIONS)
        context = {"title": "Operations", "operations": views.operations_log(operations, acks)[:MAX_OPERATIONS]}
        return self._render(request, "operations.html", context)

    async def health(self, request: web.Request) -> web.Response:
        context = {
            "title": "Health",
            "problem": self.journal.write_problem(),
            "backlog": self.journal.backlog(),
            "max_backlog": self.policy.max_backlog,
            "workers": {
                StepKind.REMEDIATION: self.policy.remediation_workers,
                StepKind.ESCALATION: self.policy.escalation_workers,
            },
            "failures": views.delivery_failures(self.metrics.registry),
            "policy": describe(self.policy),
        }
        return self._render(request, "health.html", context)
