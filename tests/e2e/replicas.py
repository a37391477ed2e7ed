"""Several responder replicas on one PostgreSQL journal, behind one address, as a Kubernetes
Service puts them: the chain of `Stack`, with the responder replaced by the replicas.

The "Service" is a round-robin HTTP proxy on 127.0.0.1 (`Balancer`): each request goes to the
next replica; one that refuses the connection (killed) is skipped, as an endpoint whose
readiness failed would be. What the tests read of the journal they read from the database.
"""

import json
import sys
import time
from collections import Counter
from contextlib import ExitStack
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from aiohttp import web

from tests.conftest import REPO
from tests.e2e import configs, processes
from tests.e2e.stack import NAMESPACES, Stack
from tests.fakes.channels import channel_policy
from tests.fakes.thread import AppThread, free_port

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


class Balancer:
    """Round robin over `backends`, counting what each one answered, and keeping the correlation
    id and journal id of every notification answered 200 and how many were answered 503."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.answered: Counter[str] = Counter()
        self.accepted: dict[str, int] = {}  # correlation id: the notification's id in the journal
        self.refused = 0
        self._next = count()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{path:.*}", self._forward)
        return app

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        start = next(self._next)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for i in range(len(self.backends)):
                backend = self.backends[(start + i) % len(self.backends)]
                try:
                    async with session.request(
                        request.method, backend + request.path_qs, data=body, headers=headers
                    ) as r:
                        answer = await r.read()
                        self.answered[backend] += 1
                        self._note(request.path, r.status, answer)
                        kept = {k: v for k, v in r.headers.items() if k.lower() not in _HOP_BY_HOP}
                        return web.Response(status=r.status, body=answer, headers=kept)
                except (TimeoutError, aiohttp.ClientConnectionError):
                    continue
        self._note(request.path, 503, b"")
        return web.Response(status=503, text="no replica answered")

    def _note(self, path: str, status: int, answer: bytes) -> None:
        if path != "/webhook":
            return
        if status == 200:
            accepted = json.loads(answer)
            self.accepted[accepted["correlation_id"]] = accepted["id"]
        elif status == 503:
            self.refused += 1


class ReplicaStack(Stack):
    """`Stack` with `start_replicas` instead of `start_responder`; the journal is `dsn`'s."""

    def __init__(self, root: Path, exits: ExitStack, dsn: str) -> None:
        super().__init__(root, exits)
        self.dsn = dsn
        self.replicas: list[processes.Process] = []
        self.balancer: Balancer | None = None

    def start_replicas(self, count: int = 2, changes: dict[str, Any] | None = None) -> None:
        """`count` responders on the one journal, behind the balancer at this stack's URL."""
        ports = [free_port() for _ in range(count)]
        self.balancer = Balancer([f"http://127.0.0.1:{p}" for p in ports])
        service = AppThread(self.balancer.app())
        self._exits.enter_context(service)
        self.port, self.url = service.port, service.url
        channels = channel_policy(self.urls, self.ca_file)
        for i, port in enumerate(ports):
            home = self.root / f"replica-{i}"
            home.mkdir()
            journal = {"journal": {"postgresql": {"dsn": self.dsn}}}
            config = configs.responder_policy(
                home, port, self.urls["kube"], NAMESPACES, {**channels, **journal, **(changes or {})}
            )
            process = processes.Process(
                f"responder-{i}",
                [
                    "env",
                    f"RESPONDER_REPLICA=replica-{i}",
                    sys.executable,
                    "-m",
                    "responder",
                    "serve",
                    "--config",
                    str(config),
                ],
                home / "responder.log",
                f"http://127.0.0.1:{port}/readyz",
                cwd=REPO,
            )
            self.replicas.append(self._process(process))
        self.responder = self.replicas[0]

    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def backlog(self) -> int:
        [(left,)] = self._rows(
            "SELECT (SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL)"
            " + (SELECT COUNT(*) FROM steps WHERE status IN ('pending', 'running') AND due_at <= %s)",
            time.time() + 1,
        )
        return int(left)

    def unfinished(self) -> list[tuple[Any, ...]]:
        """Steps due and not finished: kind, name, status, seconds left on the lease, holder, attempts."""
        return self._rows(
            "SELECT kind, name, status, lease_until - extract(epoch FROM now()), lease_holder, attempts FROM steps"
            " WHERE status IN ('pending', 'running') AND due_at <= extract(epoch FROM now()) + 1 LIMIT 20"
        )

    def correlation_ids(self) -> list[str]:
        return [c for (c,) in self._rows("SELECT correlation_id FROM notifications")]

    def notifications_with_ids(self, ids: list[int]) -> list[tuple[Any, ...]]:
        """The notifications whose ids are among `ids`: id, correlation id, received, applied."""
        return self._rows(
            "SELECT id, correlation_id, received_at, processed_at FROM notifications WHERE id = ANY(%s)", ids
        )

    def interrupted(self) -> int:
        """Attempts cut short (a replica killed, a lease run out) and recorded so."""
        [(found,)] = self._rows("SELECT COUNT(*) FROM attempts WHERE status = 'interrupted'")
        return int(found)

    def bodies(self) -> list[bytes]:
        """Every journaled notification's body, in the order they arrived."""
        return [bytes(body) for (body,) in self._rows("SELECT body FROM notifications ORDER BY id")]

    def per_instance(self, kind: str) -> dict[int, int]:
        """Every alert instance's id and how many steps of `kind` it has (0 included)."""
        return dict(
            self._rows(
                "SELECT i.id, COUNT(s.id) FROM instances i LEFT JOIN steps s ON s.instance_id = i.id AND s.kind = %s"
                " GROUP BY i.id",
                kind,
            )
        )

    def step_runners(self, kind: str) -> Counter[str]:
        """How many steps of `kind` each replica ran (the last to hold the step's lease)."""
        rows = self._rows("SELECT lease_holder, COUNT(*) FROM steps WHERE kind = %s GROUP BY lease_holder", kind)
        return Counter({holder: n for holder, n in rows if holder is not None})

    def leased_by(self, replica: str) -> dict[int, float]:
        """The steps `replica` holds the lease of and has not finished, each with its lease's end."""
        rows = self._rows("SELECT id, lease_until FROM steps WHERE status = 'running' AND lease_holder = %s", replica)
        return dict(rows)

    def taken_up(self, steps: list[int]) -> dict[int, tuple[str | None, float | None, float | None]]:
        """Each of `steps`: who holds it last, and when its last attempt that ran to an end (not
        `interrupted`) started and finished; None while there is none."""
        rows = self._rows(
            "SELECT s.id, s.lease_holder, a.started_at, a.finished_at FROM steps s LEFT JOIN LATERAL (SELECT"
            " started_at, finished_at FROM attempts WHERE step_id = s.id AND status != 'interrupted'"
            " ORDER BY id DESC LIMIT 1) a ON true WHERE s.id = ANY(%s)",
            steps,
        )
        return {step: (holder, started, finished) for step, holder, started, finished in rows}
