"""What operators see of the replicas sharing a journal.

GET /api/v1/leases   which replica holds which running step, and until when (authenticated by
                     the app's middleware, as the audit API)

A journal shared by several replicas (PostgreSQL) is a `SharedJournal`: it names this replica,
lists the fleet's leases, and keeps what it found of the server's durability at start, which
/readyz repeats while it stays ready. The SQLite journal admits one process: the endpoint says
so instead of listing leases, as that process runs every step.
"""

from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from responder.journal import Journal

ONE_PROCESS = "the SQLite journal admits one process: this one runs every step, so no lease is shared"


@runtime_checkable
class SharedJournal(Protocol):
    replica: str  # this process's name among the replicas
    durability_warning: str | None  # why a commit may not survive a crash of the server, or None

    async def leases(self) -> list[dict[str, Any]]: ...


def shared(journal: Journal) -> SharedJournal | None:
    """`journal` when several replicas share it, else None."""
    return journal if isinstance(journal, SharedJournal) else None


def replicas_routes(journal: Journal) -> list[web.RouteDef]:
    fleet = shared(journal)

    async def leases(_: web.Request) -> web.Response:
        if fleet is None:
            return web.json_response({"shared": False, "detail": ONE_PROCESS})
        return web.json_response({"shared": True, "replica": fleet.replica, "leases": await fleet.leases()})

    return [web.get("/api/v1/leases", leases)]
