"""A real Kubernetes control plane on 127.0.0.1 for one test session: etcd, kube-apiserver, controller-manager.

The apiserver serves TLS with a throwaway CA (`tests.fakes.tls`), authorizes with RBAC (plus Node, as a real
cluster does), issues service-account tokens through TokenRequest (its own signing key), knows three static
administrator tokens (the tests' setup, the controller-manager, and the responder when its permissions are not
the point), and writes an audit log, from which a test reads which requests the responder made and what they
were answered. The controller-manager runs only the deployment and replicaset controllers: Deployments get
ReplicaSets and Pods, so a paused rollout can be seen not to progress. No scheduler and no kubelet: pods stay
Pending, and pod logs are not served (the fake keeps serving those).

Every process is started with its output in the session's directory, waited for with a bounded loop, and
stopped by its own PID at the end.
"""

import contextlib
import json
import os
import secrets
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fakes.thread import free_port
from tests.fakes.tls import make_ca
from tests.kube.build import binary

READY_SECONDS = 60.0
STOP_SECONDS = 10.0
ADMIN = "kube-admin"  # the tests' own setup
MANAGER = "system:kube-controller-manager"
RESPONDER = "responder-admin"  # the responder, when a test is not about its permissions


class ClusterError(Exception):
    """A component did not start or did not become ready; the message names its log."""


@dataclass(frozen=True)
class RealCluster:
    url: str
    ca_file: Path
    admin_token: str
    responder_token: str
    directory: Path

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def audit(self, namespace: str, user: str | None = None) -> list[dict[str, Any]]:
        """What the server answered to each request in `namespace` (by `user`), oldest first, from its audit log."""
        events = [json.loads(line) for line in (self.directory / "audit.log").read_text().splitlines() if line]
        return [
            e
            for e in events
            if e.get("stage") == "ResponseComplete"
            and e.get("objectRef", {}).get("namespace") == namespace
            and user in (None, e["user"]["username"])
        ]


class Processes:
    """The started components, stopped by PID in reverse order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append((name, process))
        return process

    def check(self) -> None:
        """Every component still running, or the end of the log of the first one that exited."""
        for name, process in self.running:
            if process.poll() is not None:
                tail = (self.directory / f"{name}.log").read_text(errors="replace")[-2000:]
                raise ClusterError(f"{name} exited {process.returncode}; the end of its log:\n{tail}")

    def stop(self) -> None:
        for _name, process in reversed(self.running):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(STOP_SECONDS)
        self.running.clear()


def _wait_ready(processes: Processes, cluster: RealCluster) -> None:
    url = f"{cluster.url}/readyz"
    deadline = time.monotonic() + READY_SECONDS
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {cluster.admin_token}"})
    last = "no answer yet"
    while time.monotonic() < deadline:
        processes.check()
        try:
            with urllib.request.urlopen(request, timeout=2, context=cluster.ssl_context()) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise ClusterError(
        f"kube-apiserver not ready at {url} within {READY_SECONDS:.0f} s ({last}); see {processes.directory}"
    )


def _write_files(directory: Path, cluster: RealCluster) -> dict[str, Path]:
    """Service-account signing key, the static tokens (all administrators: the tests, the controller-manager, the
    responder when its permissions are not the point) and the controller-manager's kubeconfig."""
    key = ec.generate_private_key(ec.SECP256R1())
    files = {name: directory / name for name in ("sa.key", "tokens.csv", "kubeconfig", "audit.yaml")}
    audit = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"]}
    files["audit.yaml"].write_text(yaml.safe_dump({**audit, "rules": [{"level": "Metadata"}]}))
    files["sa.key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    manager = secrets.token_hex(16)
    users = ((cluster.admin_token, ADMIN), (manager, MANAGER), (cluster.responder_token, RESPONDER))
    files["tokens.csv"].write_text("".join(f"{token},{user},{user},system:masters\n" for token, user in users))
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": cluster.url, "certificate-authority": str(cluster.ca_file)}}
        ],
        "users": [{"name": MANAGER, "user": {"token": manager}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": MANAGER}}],
        "current-context": "test",
    }
    files["kubeconfig"].write_text(yaml.safe_dump(kubeconfig))
    for path in files.values():
        path.chmod(0o600)
    return files


@contextlib.contextmanager
def running(directory: Path, etcd: str) -> Iterator[RealCluster]:
    """etcd, kube-apiserver and kube-controller-manager up for the block; stopped, by PID, after it."""
    ca = make_ca(directory)
    api_port, etcd_port, peer_port, kcm_port = (free_port() for _ in range(4))
    url = f"https://127.0.0.1:{api_port}"
    cluster = RealCluster(url, ca.ca_file, secrets.token_hex(16), secrets.token_hex(16), directory)
    files = _write_files(directory, cluster)
    processes = Processes(directory)
    try:
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        processes.start(
            "etcd",
            [
                etcd,
                f"--data-dir={directory / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",  # a throwaway store: durability is not what these tests are about
            ],
        )
        processes.start(
            "kube-apiserver",
            [
                str(binary("kube-apiserver")),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                "--insecure-port=0",
                f"--etcd-servers={etcd_url}",
                f"--tls-cert-file={directory / 'server.pem'}",
                f"--tls-private-key-file={directory / 'server.key'}",
                f"--client-ca-file={ca.ca_file}",
                "--authorization-mode=Node,RBAC",
                f"--token-auth-file={files['tokens.csv']}",
                f"--service-account-issuer={cluster.url}",
                f"--service-account-signing-key-file={files['sa.key']}",
                f"--service-account-key-file={files['sa.key']}",
                f"--api-audiences={cluster.url}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--disable-admission-plugins=ServiceAccount",  # no token controller: pods mount no token
                "--enable-priority-and-fairness=false",
                "--allow-privileged=false",
                f"--audit-policy-file={files['audit.yaml']}",
                f"--audit-log-path={directory / 'audit.log'}",  # written before each answer: tests read it at once
                "--audit-log-mode=blocking",
            ],
        )
        _wait_ready(processes, cluster)
        processes.start(
            "kube-controller-manager",
            [
                str(binary("kube-controller-manager")),
                f"--kubeconfig={files['kubeconfig']}",
                f"--authentication-kubeconfig={files['kubeconfig']}",
                f"--authorization-kubeconfig={files['kubeconfig']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                "--port=0",
                "--leader-elect=false",
                "--controllers=deployment,replicaset",
            ],
        )
        time.sleep(0.5)  # a bad flag ends it at once; the tests wait (bounded) for what it does
        processes.check()
        yield cluster
    finally:
        processes.stop()
