"""The workload follows the journal: several replicas on PostgreSQL (no volume, a disruption
budget, spread over nodes, each named after its pod), one on SQLite (Recreate, its volume); and
every example under deploy/ is committed as generated."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from responder import generated, manifests, step_tasks
from responder.policy import load_policy
from responder.web import app, server
from tests.conftest import REPO, write_policy

POSTGRESQL = Path("deploy/kubernetes-postgresql/policy.yaml")


def _documents(files: list[generated.GeneratedFile]) -> dict[str, dict[str, Any]]:
    """The workload file's documents by kind."""
    [workload] = [f for f in files if f.path.name == "responder.yaml"]
    return {d["kind"]: d for d in yaml.safe_load_all(workload.text) if d}


def _build(source: Path, replicas: int | None = None) -> dict[str, dict[str, Any]]:
    policy = load_policy(REPO / source, env=manifests.PLACEHOLDERS)
    return _documents(manifests.generate(policy, source, (REPO / source).read_text(), replicas))


def _pod(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = documents["Deployment"]["spec"]["template"]["spec"]
    return spec


def test_every_example_under_deploy_is_committed_as_its_policy_generates_it() -> None:
    assert {str(p) for p in manifests.examples(REPO)} >= {str(manifests.POLICY), str(POSTGRESQL)}
    for source in manifests.examples(REPO):
        policy = load_policy(REPO / source, env=manifests.PLACEHOLDERS)
        files = manifests.generate(policy, source, (REPO / source).read_text())
        assert {f.path.parent for f in files} == {source.parent}, "beside its policy"
        generated.check(REPO, manifests.output(source), files)


def test_a_postgresql_policy_runs_two_replicas_with_no_volume_and_a_disruption_budget() -> None:
    documents = _build(POSTGRESQL)
    deployment, budget = documents["Deployment"], documents["PodDisruptionBudget"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert "PersistentVolumeClaim" not in documents
    pod = _pod(documents)
    assert {v["name"] for v in pod["volumes"]} == {"policy", "tmp"}
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert budget["spec"] == {"minAvailable": 1, "selector": {"matchLabels": selector}}
    [preferred] = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    term = preferred["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname" and term["labelSelector"]["matchLabels"] == selector
    [container] = pod["containers"]
    env = {e["name"]: e["valueFrom"] for e in container["env"]}
    assert env["RESPONDER_DSN"] == {"secretKeyRef": {"name": "alert-responder", "key": "dsn"}}
    assert env["RESPONDER_REPLICA"] == {"fieldRef": {"fieldPath": "metadata.name"}}, "each replica named by its pod"


def test_more_replicas_when_asked_and_never_fewer_than_two() -> None:
    assert _build(POSTGRESQL, replicas=3)["Deployment"]["spec"]["replicas"] == 3
    with pytest.raises(manifests.ManifestError) as refused:
        _build(POSTGRESQL, replicas=1)
    assert refused.value.problems == [
        "--replicas 1: several replicas are the point of journal.postgresql; give 2 or more"
    ]


def test_a_sqlite_policy_keeps_one_replica_recreated_on_its_volume() -> None:
    documents = _build(manifests.POLICY)
    assert documents["Deployment"]["spec"]["replicas"] == 1
    assert documents["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    assert "PodDisruptionBudget" not in documents and "PersistentVolumeClaim" in documents
    [container] = _pod(documents)["containers"]
    assert {"name": "journal", "mountPath": "/var/lib/alert-responder"} in container["volumeMounts"]
    with pytest.raises(manifests.ManifestError) as refused:
        _build(manifests.POLICY, replicas=2)
    assert "the SQLite journal (journal.sqlite) admits one process" in refused.value.problems[0]


def _with_dsn_file(tmp_path: Path, dsn_file: str) -> tuple[Path, str]:
    """A policy reading its DSN from `dsn_file`, a path in the pod that this machine lacks: it
    is loaded offline, as `manifests build` loads it."""
    path = write_policy(tmp_path, {"kubernetes": {"in_cluster": True}})
    document = yaml.safe_load(path.read_text())
    document["journal"] = {"postgresql": {"dsn_file": dsn_file}}
    path.write_text(yaml.safe_dump(document))
    return path, path.read_text()


def test_a_dsn_file_is_the_secrets_dsn_key_mounted_where_the_policy_reads_it(tmp_path: Path) -> None:
    path, text = _with_dsn_file(tmp_path, "/var/run/secrets/alert-responder-db/dsn")
    policy = load_policy(path, env=manifests.PLACEHOLDERS, offline=True)
    documents = _documents(manifests.generate(policy, Path("responder.yaml"), text))
    assert documents["Deployment"]["spec"]["replicas"] == manifests.REPLICAS, "a fleet, though the file is unread"
    pod = _pod(documents)
    [container] = pod["containers"]
    assert "RESPONDER_DSN" not in {e["name"] for e in container["env"]}
    mount = {"name": "dsn", "mountPath": "/var/run/secrets/alert-responder-db", "readOnly": True}
    assert mount in container["volumeMounts"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "dsn"]
    assert volume["secret"] == {
        "secretName": "alert-responder",
        "items": [{"key": "dsn", "path": "dsn"}],
        "defaultMode": 0o440,
    }


@pytest.mark.parametrize(
    "dsn_file", ["/etc/alert-responder/dsn", "/tmp/dsn", "/var/run/secrets/kubernetes.io/dsn", "/run/secrets/dsn"]
)
def test_a_dsn_file_whose_directory_the_secret_would_hide_is_refused(tmp_path: Path, dsn_file: str) -> None:
    path, text = _with_dsn_file(tmp_path, dsn_file)
    policy = load_policy(path, env=manifests.PLACEHOLDERS, offline=True)
    with pytest.raises(manifests.ManifestError) as refused:
        manifests.generate(policy, Path("responder.yaml"), text)
    assert "give a path such as /var/run/secrets/alert-responder-db/dsn" in refused.value.problems[0]


@pytest.mark.parametrize("source", [POSTGRESQL, manifests.POLICY], ids=["postgresql", "sqlite"])
def test_kubernetes_waits_for_the_whole_stop_before_it_kills_the_pod(source: Path) -> None:
    """Killed before the stop ends, a replica keeps the leases of the steps it did not hand back.
    The grace period counts from the preStop hook's start."""
    pod = _pod(_build(source))
    [hook] = [c["lifecycle"]["preStop"]["exec"]["command"] for c in pod["containers"]]
    stop = server.SHUTDOWN_SECONDS + app.SHUTDOWN_GRACE_SECONDS + step_tasks.RELEASE_SECONDS
    assert pod["terminationGracePeriodSeconds"] >= int(hook[-1]) + stop + 10


@pytest.mark.parametrize("source", [POSTGRESQL, manifests.POLICY], ids=["postgresql", "sqlite"])
def test_a_stopping_pod_serves_a_few_seconds_while_the_service_forgets_it(source: Path) -> None:
    """SIGTERM comes after the hook: the endpoints' removal reaches the nodes' proxies meanwhile."""
    [container] = _pod(_build(source))["containers"]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(manifests.PRE_STOP_SECONDS)]
    assert 2 <= manifests.PRE_STOP_SECONDS <= 10


def test_a_policy_outside_the_examples_generates_into_deploy_kubernetes() -> None:
    assert manifests.out_dir(Path("responder.yaml")) == manifests.OUT_DIR
    assert manifests.out_dir(Path("/etc/deploy/x/policy.yaml")) == manifests.OUT_DIR
    assert manifests.out_dir(POSTGRESQL) == POSTGRESQL.parent
