"""The real control plane for the session, an admin client for setting it up, and responders pointed at it.

Locally a missing cache (or etcd) skips these tests with the command that provides it; under CI
(REQUIRE_REAL_TOOLS=1, set by scripts/test) it fails them, so a green run means the real server ran.
"""

import io
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NoReturn

import pytest
import yaml

from responder.policy import Policy
from responder.service import Responder, build_responder
from tests.conftest import REPO
from tests.kube import build
from tests.kube.cluster import RealCluster, running
from tests.kube.objects import Admin, ensure_namespace
from tests.unit.remediation.conftest import Clock, Rig

ACCOUNT = ("alert-responder", "alert-responder")  # the generated ServiceAccount: (namespace, name)
USER = f"system:serviceaccount:{ACCOUNT[0]}:{ACCOUNT[1]}"
MUTATING = ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS")
ACTIONS = (*MUTATING, "INVESTIGATE")


def unavailable(message: str) -> NoReturn:
    if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    if missing := build.missing():
        unavailable(
            f"{', '.join(missing)} {build.KUBERNETES_VERSION} not built in {build.cache_dir()}; run "
            "`python -m tests.kube.build` once (a few minutes on two cores; scripts/test does it)"
        )
    etcd = shutil.which("etcd") or unavailable(
        "etcd is not installed; run scripts/test as root, or: apt-get install etcd-server"
    )
    with running(tmp_path_factory.mktemp("kube"), etcd) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def admin(real_cluster: RealCluster) -> Admin:
    """The cluster's administrator (system:masters), for setting objects up and reading them back."""
    return Admin(real_cluster, real_cluster.admin_token)


@pytest.fixture
def namespace(admin: Admin) -> str:
    """A namespace of the test's own: tests share the cluster, never their objects."""
    name = f"t-{secrets.token_hex(4)}"
    ensure_namespace(admin, name)
    return name


def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((REPO / "deploy/kubernetes/rbac.yaml").read_text()) if d]


@pytest.fixture(scope="session")
def responder_token(admin: Admin) -> str:
    """The generated RBAC applied; a token for its ServiceAccount from the TokenRequest API."""
    for namespace in sorted({d["metadata"]["namespace"] for d in documents()}):
        ensure_namespace(admin, namespace)
    for document in documents():
        admin.create(document)
    account = admin.path("v1", "ServiceAccount", ACCOUNT[0], ACCOUNT[1])
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    token: str = admin.request("POST", f"{account}/token", request)["status"]["token"]
    return token


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def real_rig(real_cluster: RealCluster, make_policy: Callable[..., Policy]) -> AsyncIterator[MakeRig]:
    """`await real_rig(namespaces, mode=..., token=..., changes=...)`: a responder whose actions act on the real
    server in those namespaces, as the admin unless given another identity's token."""
    started: list[Responder] = []

    async def make(
        namespaces: list[str], mode: str = "live", token: str | None = None, changes: dict[str, Any] | None = None
    ) -> Rig:
        settings: dict[str, Any] = {
            "kubernetes": {
                "host": real_cluster.url,
                "token": token or real_cluster.responder_token,
                "ca_file": str(real_cluster.ca_file),
                "timeout": "5s",
            }
        }
        for action in ACTIONS:
            settings[f"actions.{action}.mode"] = mode
            settings[f"actions.{action}.allowed_namespaces"] = namespaces
        clock = Clock()
        responder = build_responder(make_policy({**settings, **(changes or {})}), clock, console=io.StringIO())
        await responder.journal.start()
        started.append(responder)
        return Rig(responder, clock)

    yield make
    for responder in started:
        responder.operator.close()
        await responder.journal.close()
