"""Every manifest of every example (deploy/kubernetes/ for SQLite, deploy/kubernetes-postgresql/ for
several replicas on PostgreSQL), applied to the real server with server-side dry-run.

Server-side apply with `dryRun=All` runs decoding, defaulting, validation and admission, and persists nothing,
whether or not the object already exists. Kubernetes 1.20 drops a field it does not know without an error
(strict field validation came in 1.25), so each answer is also checked to still hold every field the document
sets: a misspelt or misplaced field fails here instead of vanishing in the cluster. deploy/kubernetes/policy.yaml
is the responder's own policy, not a manifest. PrometheusRule documents (deploy/prometheus-operator/) and the
ServiceMonitor need the prometheus-operator CRD, which no registry this machine reaches provides; promtool
checks the rules. The kustomization is kustomize's input, not an API object.

The PodDisruptionBudget is `policy/v1`, the version every supported cluster serves (1.21 on; 1.25 removed
`policy/v1beta1`). This 1.20 server serves only `policy/v1beta1`, whose fields the generated budget uses
identically (`minAvailable`, `selector`): it is applied under that version, every field still checked.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.kube.objects import Admin, ensure_namespace

pytestmark = pytest.mark.kube
NO_CRD = "needs the prometheus-operator CRD, not available here"
# Not objects this server can admit: kustomize's own input, and a kind whose CRD (prometheus-operator's) is
# not available here. The ServiceMonitor's fields are those the operator documents; its scrape is tested by
# the self-monitoring alerts' queries on a real Prometheus.
NOT_ADMITTED = {"Kustomization": "kustomize's input, not an API object", "ServiceMonitor": NO_CRD}
EXAMPLES = ("deploy/kubernetes", "deploy/kubernetes-postgresql")
SERVED_HERE = {"policy/v1": "policy/v1beta1"}  # a version this 1.20 server serves for one it does not yet


def manifests() -> list[Any]:
    return list(_manifests())


def _manifests() -> Iterator[Any]:
    for path in sorted(p for example in EXAMPLES for p in (REPO / example).glob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document and "apiVersion" in document and document.get("kind") not in (None, *NOT_ADMITTED):
                meta = document["metadata"]
                yield pytest.param(
                    path,
                    document,
                    id=f"{path.parent.name}/{path.name}#{index}:{document['kind']}/{meta.get('namespace', '')}",
                )


def paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every key path a document sets (list items by position)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{prefix}.{key}"
            yield from paths(value, f"{prefix}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, f"{prefix}[{index}]")


def test_the_manifests_directory_has_manifests() -> None:
    kinds = {(path.parent.name, document["kind"]) for path, document in (p.values for p in manifests())}
    for example in EXAMPLES:
        wanted = {"Deployment", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Service"}
        assert {(Path(example).name, kind) for kind in wanted} <= kinds
    assert ("kubernetes-postgresql", "PodDisruptionBudget") in kinds


@pytest.mark.parametrize(("path", "document"), manifests())
def test_the_server_admits_the_manifest_with_every_field_it_sets(
    admin: Admin, path: Path, document: dict[str, Any]
) -> None:
    if namespace := document["metadata"].get("namespace"):  # a Namespace itself has none
        ensure_namespace(admin, namespace)
    version = document["apiVersion"]
    document = {**document, "apiVersion": SERVED_HERE.get(version, version)}
    kept = set(paths(admin.apply_dry_run(document)))
    dropped = [p for p in paths(document) if p not in kept]
    assert not dropped, f"{path.name}: the server dropped fields it does not know: {dropped}"
