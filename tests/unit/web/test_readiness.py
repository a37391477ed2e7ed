"""/readyz says whether a write to the journal would succeed now: a read that succeeds after a
failed write does not make the responder ready; a write that succeeds again does."""

import asyncio
import contextlib
import resource
import signal
import time
from collections.abc import Iterator
from typing import Any

from responder.service import Responder
from tests.unit.web.conftest import AUTH
from tests.unit.web.test_webhook import post


@contextlib.contextmanager
def disk_full(limit: int = 4096) -> Iterator[None]:
    """Every write past `limit` bytes into a file fails (EFBIG), as on a full disk."""
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, ignored)


async def readiness(client: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def test_a_read_after_a_failed_write_leaves_the_responder_not_ready(service: tuple[Responder, Any]) -> None:
    _, client = service
    with disk_full():
        assert (await post(client)).status == 503, "the notification could not be stored"
        assert (await client.get("/api/v1/alerts", headers=AUTH)).status == 200, "reads still succeed"
        status, body = await readiness(client)
    assert status == 503, body
    assert "the last write to" in body["journal"] and "failed" in body["journal"], body
    assert "give the volume more space" in body["journal"], "it says what to do"


async def test_readiness_returns_when_writes_succeed_again_though_nothing_else_writes(
    service: tuple[Responder, Any],
) -> None:
    """Not ready, Kubernetes sends no notification: the journal tries a write by itself."""
    _, client = service
    with disk_full():
        assert (await post(client)).status == 503
    deadline = time.monotonic() + 5
    while (status := (await readiness(client))[0]) != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert status == 200
    assert (await post(client)).status == 200
