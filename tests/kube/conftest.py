"""The real control plane for the session, an admin client for setting it up, and responders pointed at it.

Locally a missing cache (or etcd) skips these tests with the command that provides it; under CI
(REQUIRE_REAL_TOOLS=1, set by scripts/test) it fails them, so a green run means the real server ran.
"""

import os
import secrets
import shutil
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NoReturn

import pytest
import yaml

from responder.policy import Policy
from tests.conftest import REPO
from tests.kube import build
from tests.kube.cluster import RealCluster, running
from tests.kube.objects import Admin, ensure_namespace
from tests.unit.remediation.conftest import Rig
from tests.unit.remediation.conftest import rig as rig  # built on live_policy below

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


def allowed_in(*namespaces: str) -> dict[str, Any]:
    """Policy changes: every action may act in `namespaces` (by default only in the test's own)."""
    return {f"actions.{action}.allowed_namespaces": list(namespaces) for action in ACTIONS}


def identity(token: str) -> dict[str, Any]:
    """Policy changes: the responder calls the server with `token` instead of its administrator's."""
    return {"kubernetes.token": token}


@pytest.fixture
def live_policy(real_cluster: RealCluster, namespace: str, make_policy: Callable[..., Policy]) -> Callable[..., Policy]:
    """The default policy with every action live (or `mode`) against the real server, in the test's namespace;
    the `rig` fixture (tests/unit/remediation) builds a responder from it."""

    def make(changes: dict[str, Any] | None = None, mode: str = "live") -> Policy:
        server = {"host": real_cluster.url, "token": real_cluster.responder_token, "timeout": "5s"}
        base: dict[str, Any] = {"kubernetes": {**server, "ca_file": str(real_cluster.ca_file)}}
        base |= {f"actions.{action}.mode": mode for action in ACTIONS} | allowed_in(namespace)
        return make_policy({**base, **(changes or {})})

    return make
