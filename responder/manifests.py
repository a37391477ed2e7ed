"""Kubernetes manifests for running the responder in a cluster, generated from its policy.

Least privilege follows from the policy: each namespace an action may act on gets a Role
with exactly the verbs the actions allowed there use (`ACTION_PERMISSIONS`), and nothing
for actions in plan mode, which never call the API. A `*` in allowed_namespaces cannot be
expressed with namespace-scoped Roles, so it is refused rather than widened to a ClusterRole.
The files are committed, marked DO NOT EDIT, and a drift check keeps them in step.

Beside them: the Namespace, a ServiceMonitor (the self-monitoring alerts ask for
`up{job="alert-responder"}`, the job the Prometheus Operator names after the Service), every
`${NAME}` of the policy wired to a Secret key (`manifest_secrets`), and a kustomization
listing them, so that an overlay sets the image, the namespace or the resources without
editing generated files.

The workload follows the journal. SQLite admits one process: one replica, `strategy: Recreate`
(the old pod lets go of the file before the new one opens it) and the journal's volume, sized
from the policy (`journal_storage`): what the journal keeps for journal.retention at
NOTIFICATIONS_PER_DAY, at BYTES_PER_NOTIFICATION each, plus the WAL's bound and the free-space
reserve, with half again for headroom, in whole GiB. PostgreSQL is shared by several replicas
(`_shared_workload`): no volume; REPLICAS or more pods, preferably on different nodes; rolling
updates that keep every replica answering; a PodDisruptionBudget so that a drain takes one at a
time; each pod's name as its replica's name (RESPONDER_REPLICA).

Each directory under deploy/ that holds a `policy.yaml` is an example whose manifests are
generated beside it (`examples`); a policy elsewhere generates into deploy/kubernetes/.
"""

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from responder.generated import GeneratedFile, Output
from responder.manifest_secrets import dsn_file_volume, secret_env
from responder.policy import Policy
from responder.remediation.kube import permissions
from responder.schemas import ProblemsError
from responder.yamlio import dump_yaml

NAME = "alert-responder"
OUT_DIR = Path("deploy/kubernetes")
POLICY = OUT_DIR / "policy.yaml"
EXAMPLES = "deploy/*/policy.yaml"  # each generates the directory it is in
IMAGE, TAG = "alert-responder", "latest"
FILES = ("namespace.yaml", "rbac.yaml", "responder.yaml", "servicemonitor.yaml")  # in the order to apply
# What one notification costs the journal, everything it leads to included (its body, the alert
# instance, its event, its planned steps and their attempts, and their indexes). Measured: 4,225
# bytes each over 2,000 one-alert notifications of 924 bytes, each planning a stop and two
# escalation steps that all ran once (the database VACUUMed after). Rounded up to 6 KiB for
# notifications that group several alerts or carry long annotations.
BYTES_PER_NOTIFICATION = 6 * 1024
# The rate the volume is sized for: about 7 a minute, a busy Alertmanager's grouped notifications.
NOTIFICATIONS_PER_DAY = 10_000
GIB = 2**30
REPLICAS = 2  # for a PostgreSQL journal, unless told more
# How long a stopping pod keeps serving before it is sent SIGTERM (its preStop hook). Kubernetes
# takes a terminating pod out of the Service's endpoints as it runs the hook, and each node's
# proxy learns so a moment later: until then connections still arrive, and a responder that had
# stopped listening would refuse them (Alertmanager retries, later). `sleep` is coreutils', in
# every Debian-based image the Containerfile builds on.
PRE_STOP_SECONDS = 5
# How long Kubernetes waits, from the hook's start, before it kills the pod. After the hook the
# responder's stop takes at most SHUTDOWN_SECONDS (10) for the requests being answered, then
# SHUTDOWN_GRACE_SECONDS (10) for the running steps and RELEASE_SECONDS (5) to hand back the
# steps it leased and had not started, then closes the journal: 30 s and more with the hook,
# Kubernetes' default. A stop cut short leaves its leases to run out before another replica
# takes those steps.
TERMINATION_GRACE_SECONDS = 45


class _Placeholders(Mapping[str, str]):
    """Every ${VAR} resolves to a placeholder: manifests never need the real secrets."""

    def __getitem__(self, name: str) -> str:
        return f"placeholder-for-{name}"

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


PLACEHOLDERS = _Placeholders()


class ManifestError(ProblemsError):
    """The policy cannot be expressed as least-privilege manifests; `problems` says why, by key."""

    headline = "cannot generate least-privilege manifests:"


def output(source: Path) -> Output:
    """The manifests generated from the policy at `source`."""
    return Output(what="deploy manifests", command="responder manifests build", sources=str(source))


def namespace_actions(policy: Policy) -> dict[str, list[str]]:
    """Which actions talk to the API in each namespace (plan and disabled ones do not)."""
    problems: list[str] = []
    found: dict[str, list[str]] = {}
    for name, action in policy.actions.items():
        if action.mode not in ("server", "live"):
            continue
        for namespace in action.allowed_namespaces:
            if any(c in namespace for c in "*?"):
                problems.append(
                    f"actions.{name}.allowed_namespaces: {namespace!r} cannot be granted by namespace-scoped "
                    "Roles; list the namespaces"
                )
            elif namespace not in policy.protected_namespaces:
                found.setdefault(namespace, []).append(name)
    if problems:
        raise ManifestError(problems)
    return {ns: sorted(actions) for ns, actions in sorted(found.items())}


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME}


def _rbac(policy: Policy) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": NAME, "namespace": policy.namespace, "labels": _labels()},
        }
    ]
    for namespace, actions in namespace_actions(policy).items():
        rules = [
            {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}
            for (group, resource), verbs in permissions(actions).items()
        ]
        meta = {"name": NAME, "namespace": namespace, "labels": _labels()}
        annotations = {"alert-responder.io/actions": ",".join(actions)}
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {**meta, "annotations": annotations},
                "rules": rules,
            }
        )
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": policy.namespace}],
            }
        )
    return documents


def examples(root: Path) -> list[Path]:
    """The example policies under `root`, each relative to it."""
    return sorted(path.relative_to(root) for path in root.glob(EXAMPLES))


def out_dir(source: Path) -> Path:
    """Where the manifests of the policy at `source` (relative to the root when it is under it)
    are written: beside it for an example, else deploy/kubernetes/."""
    return source.parent if source.match(EXAMPLES) and not source.is_absolute() else OUT_DIR


def _workload(policy: Policy, policy_text: str, replicas: int | None) -> list[dict[str, Any]]:
    document = yaml.safe_load(policy_text)
    # From the document, not policy.journal_dsn: a dsn_file lives in the pod, so the machine
    # building the manifests may not be able to read it.
    if isinstance(document.get("journal"), dict) and "postgresql" in document["journal"]:
        return _shared_workload(policy, _container(policy, document), document, replicas or REPLICAS)
    if replicas not in (None, 1):
        raise ManifestError(
            [
                f"--replicas {replicas}: the SQLite journal (journal.sqlite) admits one process; use journal.postgresql"
                " for several replicas (docs/replicas.md), or leave --replicas out"
            ]
        )
    return _single_workload(policy, _container(policy, document))


def _workload_meta(policy: Policy) -> dict[str, Any]:
    return {"name": NAME, "namespace": policy.namespace, "labels": _labels()}


def _container(policy: Policy, document: Any) -> dict[str, Any]:
    """The responder's container, whichever the journal: its volumes are the workload's to add."""
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 10}
    return {
        "name": "responder",
        "image": f"{IMAGE}:{TAG}",
        "args": ["serve", "--config", "/etc/alert-responder/policy.yaml"],
        "ports": [{"name": "http", "containerPort": policy.port, "protocol": "TCP"}],
        "env": secret_env(document, NAME),
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/healthz", "port": "http"}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}},
        "volumeMounts": [
            {"name": "policy", "mountPath": "/etc/alert-responder"},
            {"name": "tmp", "mountPath": "/tmp"},  # temporary files; the root filesystem is read-only
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _single_workload(policy: Policy, container: dict[str, Any]) -> list[dict[str, Any]]:
    """One replica on the SQLite journal's volume: the file admits one process."""
    meta = _workload_meta(policy)
    container["volumeMounts"].insert(1, {"name": "journal", "mountPath": str(policy.journal_path.parent)})
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": _labels()},
                "template": pod_template(
                    container, [{"name": "journal", "persistentVolumeClaim": {"claimName": NAME}}]
                ),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta,
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": journal_storage(policy)}}},
        },
    ]


def _shared_workload(policy: Policy, container: dict[str, Any], document: Any, replicas: int) -> list[dict[str, Any]]:
    """Several replicas on the PostgreSQL journal: nothing of theirs on a volume."""
    if replicas < REPLICAS:
        raise ManifestError(
            [f"--replicas {replicas}: several replicas are the point of journal.postgresql; give {REPLICAS} or more"]
        )
    meta = _workload_meta(policy)
    container["env"].append({"name": "RESPONDER_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    volumes = []
    try:
        dsn = dsn_file_volume(document, NAME)
    except ValueError as exc:
        raise ManifestError([str(exc)]) from None
    if dsn:
        volume, mount = dsn
        volumes.append(volume)
        container["volumeMounts"].insert(1, mount)
    spread = {"labelSelector": {"matchLabels": _labels()}, "topologyKey": "kubernetes.io/hostname"}
    # Preferred, not required: a cluster with fewer nodes than replicas still runs them all, and
    # the disruption budget keeps a drain from taking two at once wherever they landed.
    affinity = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": spread}]
        }
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                # A new pod first, then an old one goes: as many replicas answer throughout.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "selector": {"matchLabels": _labels()},
                "template": pod_template(container, volumes, affinity=affinity),
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": _labels()}},
        },
    ]


def pod_template(container: dict[str, Any], volumes: Sequence[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """The pod: the container, the policy's and /tmp's volumes and `volumes`, and `spec`'s fields."""
    return {
        "metadata": {"labels": _labels()},
        "spec": {
            "serviceAccountName": NAME,
            # A fixed non-root user whose group owns the mounted volumes.
            "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001},
            "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
            **spec,
            "containers": [container],
            "volumes": [
                {"name": "policy", "configMap": {"name": NAME}},
                *volumes,
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    }


def _around(policy: Policy, policy_text: str, workload: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The policy's ConfigMap before the workload, its Service after."""
    meta = _workload_meta(policy)
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"policy.yaml": policy_text}},
        *workload,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": _labels(),
                "ports": [{"name": "http", "port": policy.port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
    ]


def _namespace(policy: Policy) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": policy.namespace, "labels": _labels()}}]


def _service_monitor(policy: Policy) -> list[dict[str, Any]]:
    """Prometheus Operator scrapes the Service's /metrics as job `alert-responder` (the Service's name)."""
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": NAME, "namespace": policy.namespace, "labels": _labels()},
            "spec": {
                "selector": {"matchLabels": _labels()},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
            },
        }
    ]


def _kustomization() -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(FILES),
        "images": [{"name": IMAGE, "newTag": TAG}],
    }


def journal_storage(policy: Policy) -> str:
    """The PersistentVolumeClaim's size for the journal, in whole GiB (see the module's docstring)."""
    history = policy.retention_seconds / 86_400 * NOTIFICATIONS_PER_DAY * BYTES_PER_NOTIFICATION
    needed = (history + policy.journal_wal_max + policy.journal_reserve) * 1.5
    return f"{max(1, math.ceil(needed / GIB))}Gi"


def _file(path: Path, source: Path, documents: Sequence[dict[str, Any]]) -> GeneratedFile:
    body = "---\n".join(dump_yaml(d) for d in documents)
    return GeneratedFile(path, f"# {output(source).mark(str(source))}.\n{body}")


def generate(policy: Policy, source: Path, policy_text: str, replicas: int | None = None) -> list[GeneratedFile]:
    """The manifests of the policy at `source`, into `out_dir(source)`; `replicas`: how many for
    a PostgreSQL journal (REPLICAS when None), refused above one for SQLite."""
    workload = _around(policy, policy_text, _workload(policy, policy_text, replicas))
    documents = [_namespace(policy), _rbac(policy), workload, _service_monitor(policy)]
    into = out_dir(source)
    return [
        *(_file(into / name, source, docs) for name, docs in zip(FILES, documents, strict=True)),
        _file(into / "kustomization.yaml", source, [_kustomization()]),
    ]
