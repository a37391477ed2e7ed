"""`scripts/demo`: the end-to-end chain told as a story, for someone new to the project.

It runs what the end-to-end tests run (tests/e2e/stack.py: real Prometheus, Alertmanager and
responder; contract fakes for Kubernetes, Slack, PagerDuty and Twilio), trips the real
CostBudgetExceeded alert, narrates each hop from what the fakes and the responder's APIs
recorded, resolves it and shuts everything down. With `--real-kube` the deployment lives on a
real kube-apiserver (etcd and the deployment controller beside it, tests/kube/cluster.py) instead
of the Kubernetes fake. It lives beside the tests, not in the package, because the fakes it needs
are test code and the package must not import them.
"""

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from tests.e2e.processes import wait_for
from tests.e2e.stack import STOP, Stack
from tests.kube import build
from tests.kube.cluster import running
from tests.kube.objects import Admin, create_deployment, ensure_namespace, read_deployment

ALERT, METRIC, BAD, GOOD = STOP
NAMESPACE, DEPLOYMENT = "autogen-council", "o3-audit-proxy"


class Story:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._start = time.monotonic()

    def __call__(self, line: str) -> None:
        print(f"[{time.monotonic() - self._start:5.1f}s] {line}", file=self._out, flush=True)


def _prometheus_alerts(stack: Stack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(stack.prometheus_url + "/api/v1/alerts", timeout=5) as response:
        found: list[dict[str, Any]] = json.load(response)["data"]["alerts"]
    return [a for a in found if a["labels"]["alertname"] == ALERT and a["state"] == "firing"]


def _once(what: str, probe: Callable[[], list[Any]]) -> Any:
    return wait_for(what, probe, 30, interval=0.1)[0]


def tell(stack: Stack, say: Story, replicas: Callable[[], int]) -> None:
    """The story; `replicas` reads the deployment's replica count from whichever cluster runs it."""
    say(f"cluster: {NAMESPACE}/{DEPLOYMENT} runs {replicas()} replicas")
    stack.trip(STOP)
    say(f"exporter: {METRIC} = {BAD} (the budget is 0.50/day)")
    alert = _once("Prometheus to fire", lambda: _prometheus_alerts(stack))
    say(f"Prometheus: {ALERT} firing, severity {alert['labels']['severity']}, action {alert['annotations']['action']}")
    instance = _once("the responder to journal it", lambda: stack.instances(ALERT))
    say(
        f"Alertmanager delivered it; the responder journaled fingerprint {instance['fingerprint']} before answering 200"
    )
    stack.remediated(ALERT)
    (stop,) = stack.api("/api/v1/stops")["stops"]
    now = replicas()
    say(f"responder: EMERGENCY_STOP scaled {NAMESPACE}/{DEPLOYMENT} {stop['replicas']} → {now}, recorded for restore")
    slack = _once("Slack", lambda: stack.fakes.slack.parents())
    say(f"Slack: {slack.text}")
    page = _once("PagerDuty", lambda: stack.fakes.pages(ALERT))
    say(f"PagerDuty: incident {page['dedup_key']}: {page['payload']['summary']}")
    sms = _once("SMS", lambda: stack.fakes.twilio.messages)
    say(f"SMS to {sms['to']}: {sms['body']}")
    stack.calm(STOP)
    say(f"exporter: {METRIC} = {GOOD}")
    stack.resolved(ALERT)
    say("Alertmanager sent the resolve; the responder closed the instance")
    resolve = _once("PagerDuty resolve", lambda: stack.fakes.page_resolves(ALERT))
    say(f"PagerDuty: incident {resolve['dedup_key']} resolved")
    reply = _once("the Slack thread", lambda: stack.fakes.slack.thread(slack.ts)[-1:])
    say(f"Slack thread: {' '.join(reply.text.split())}")
    say(f"{DEPLOYMENT} stays at 0 until a human runs: responder restore {NAMESPACE}/{DEPLOYMENT}")


def _real_cluster(root: Path, exits: ExitStack) -> tuple[dict[str, Any], Callable[[], int]]:
    """A real control plane with the demo's deployment: the responder's kubernetes section, and
    how to read the deployment's replicas."""
    if missing := build.missing():
        raise SystemExit(f"{', '.join(missing)} not built; run: python -m tests.kube.build")
    etcd = shutil.which("etcd")
    if etcd is None:
        raise SystemExit("etcd is not installed; run: apt-get install etcd-server")
    (root / "kube").mkdir()
    cluster = exits.enter_context(running(root / "kube", etcd))
    admin = Admin(cluster, cluster.admin_token)
    ensure_namespace(admin, NAMESPACE)
    create_deployment(admin, NAMESPACE, DEPLOYMENT, replicas=3)
    settings = {"host": cluster.url, "token": cluster.responder_token, "ca_file": str(cluster.ca_file)}
    return settings, lambda: int(read_deployment(admin, NAMESPACE, DEPLOYMENT)["spec"]["replicas"])


def _fake_replicas(stack: Stack) -> int:
    return int(stack.fakes.kube.deployment(NAMESPACE, DEPLOYMENT)["spec"]["replicas"])


def main(out: TextIO = sys.stdout, real_kube: bool = False) -> int:
    where = "a real kube-apiserver" if real_kube else "the Kubernetes fake"
    print(f"starting Prometheus, Alertmanager, the responder, {where} and the fakes ...", file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="alert-responder-demo-") as root, ExitStack() as exits:
        stack = Stack(Path(root), exits)
        if real_kube:
            kubernetes, replicas = _real_cluster(Path(root), exits)
            stack.start_responder({"kubernetes": {**kubernetes, "timeout": "5s"}})
        else:
            stack.start_responder()
            replicas = functools.partial(_fake_replicas, stack)
        stack.start_alerting()
        say = Story(out)
        say(f"started: {where}, fake Slack, PagerDuty (TLS) and Twilio; exporter; responder; Alertmanager; Prometheus")
        say(f"console: {stack.url}/console/ (log in with any name and the bearer token; up while the demo runs)")
        tell(stack, say, replicas)
    say("shut down: every process stopped, temporary files removed")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="scripts/demo", description="The whole chain, told as a story.")
    parser.add_argument("--real-kube", action="store_true", help="a real kube-apiserver instead of the fake")
    raise SystemExit(main(real_kube=parser.parse_args().real_kube))
