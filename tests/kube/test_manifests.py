"""Every manifest under deploy/kubernetes/, applied to the real server with server-side dry-run.

Server-side apply with `dryRun=All` runs decoding, defaulting, validation and admission, and persists nothing,
whether or not the object already exists. Kubernetes 1.20 drops a field it does not know without an error
(strict field validation came in 1.25), so each answer is also checked to still hold every field the document
sets: a misspelt or misplaced field fails here instead of vanishing in the cluster. deploy/kubernetes/policy.yaml
is the responder's own policy, not a manifest. PrometheusRule documents (deploy/prometheus-operator/) and the
ServiceMonitor need the prometheus-operator CRD, which no registry this machine reaches provides; promtool
checks the rules. The kustomization is kustomize's input, not an API object.
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


def manifests() -> list[Any]:
    return list(_manifests())


def _manifests() -> Iterator[Any]:
    for path in sorted((REPO / "deploy/kubernetes").glob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document and "apiVersion" in document and document.get("kind") not in (None, *NOT_ADMITTED):
                meta = document["metadata"]
                yield pytest.param(
                    path, document, id=f"{path.name}#{index}:{document['kind']}/{meta.get('namespace', '')}"
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
    kinds = {document["kind"] for _, document in (p.values for p in manifests())}
    assert {"Deployment", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Service"} <= kinds


@pytest.mark.parametrize(("path", "document"), manifests())
def test_the_server_admits_the_manifest_with_every_field_it_sets(
    admin: Admin, path: Path, document: dict[str, Any]
) -> None:
    if namespace := document["metadata"].get("namespace"):  # a Namespace itself has none
        ensure_namespace(admin, namespace)
    kept = set(paths(admin.apply_dry_run(document)))
    dropped = [p for p in paths(document) if p not in kept]
    assert not dropped, f"{path.name}: the server dropped fields it does not know: {dropped}"
