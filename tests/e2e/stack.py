"""The whole chain on 127.0.0.1: exporter → Prometheus → Alertmanager(s) → responder → fakes.

The contract fakes (Kubernetes, Slack, PagerDuty over TLS, Twilio) and the synthetic exporter
run in this process, each in its own thread; Prometheus, Alertmanager and the responder are
real processes. The cluster holds the deployments the catalogue alerts used here target.
"""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import journal_rows
from tests.conftest import TOKEN, real_binary
from tests.e2e import configs, processes
from tests.e2e.exporter import Exporter
from tests.fakes.channels import channel_policy
from tests.fakes.kube import FakeKube
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.fakes.thread import AppThread, free_port
from tests.fakes.tls import make_ca
from tests.fakes.twilio import FakeTwilio

# The catalogue alerts used end to end, the gauge each one reads, and a value either side of it.
STOP = ("CostBudgetExceeded", "cost_daily_burn_rate", 0.73, 0.20)  # > 0.50, autogen-council/o3-audit-proxy
FREEZE = ("AccuracyRegressionDetected", "accuracy_baseline_score", 0.90, 0.99)  # < 0.95, .../gemini-audit
INVESTIGATE = ("CircuitBreakerOpen", "meta_builder_v4_circuit_breaker_state", 1.0, 0.0)  # > 0, meta-builder
NAMESPACES = ["autogen-council", "meta-builder"]
SMS_REF = re.compile(r"ref (s\d+)")


def cluster() -> FakeKube:
    fake = FakeKube(token=configs.KUBE_TOKEN)
    fake.add_deployment("autogen-council", "o3-audit-proxy", replicas=3)
    fake.add_deployment("autogen-council", "gemini-audit", replicas=2)
    fake.add_deployment("meta-builder", "meta-builder", replicas=2, labels={"app.kubernetes.io/name": "meta-builder"})
    return fake


@dataclass
class Fakes:
    kube: FakeKube = field(default_factory=cluster)
    slack: FakeSlack = field(default_factory=FakeSlack)
    pagerduty: FakePagerDuty = field(default_factory=FakePagerDuty)
    twilio: FakeTwilio = field(default_factory=FakeTwilio)

    def scale_writes(self, deployment: str) -> list[int]:
        """Replica counts the responder wrote through the scale subresource, in order."""
        return [
            int(p["spec"]["replicas"]) for _, name, p in self.kube.patches("deployments/scale") if name == deployment
        ]

    def pause_writes(self, deployment: str) -> list[bool]:
        """`spec.paused` values written to a deployment, in order (a freeze writes True once)."""
        return [
            bool(p["spec"]["paused"])
            for _, name, p in self.kube.patches("deployments")
            if name == deployment and "paused" in p.get("spec", {})
        ]

    def sms_per_step(self) -> Counter[str]:
        """SMS received by Twilio per responder step reference: any count above 1 is a duplicate."""
        return Counter(m.group(1) for msg in self.twilio.messages if (m := SMS_REF.search(msg["body"])))

    def pages(self, alertname: str) -> list[dict[str, Any]]:
        """PagerDuty trigger events for `alertname`."""
        return [
            e for e in self.pagerduty.events if e["event_action"] == "trigger" and alertname in e["payload"]["summary"]
        ]

    def page_resolves(self, alertname: str) -> list[dict[str, Any]]:
        """PagerDuty resolve events for the incidents `alertname` opened."""
        keys = {e.get("dedup_key") for e in self.pages(alertname)}
        return [e for e in self.pagerduty.events if e["event_action"] == "resolve" and e["dedup_key"] in keys]

    def slack_parents(self, alertname: str) -> list[str]:
        return [m.text for m in self.slack.parents() if alertname in m.text]


@dataclass
class Timing:
    alert: str
    changed_at: float  # the exporter's value crossed the threshold
    received_at: float  # the responder journaled Alertmanager's notification
    remediated_at: float  # the remediation step's successful attempt finished

    def line(self) -> str:
        return (
            f"{self.alert}: metric change → remediation {self.remediated_at - self.changed_at:.2f}s "
            f"(Prometheus + Alertmanager {self.received_at - self.changed_at:.2f}s, "
            f"responder {self.remediated_at - self.received_at:.2f}s)"
        )


# The job each metric's service exports it as: the catalogue's mutating alerts select their own
# job, and Prometheus keeps the exporter's label (`honor_labels`, tests.e2e.configs).
JOBS = {STOP[1]: "builder-hardening", FREEZE[1]: "builder-hardening"}


def _scope(metric: str) -> dict[str, str]:
    return {"job": JOBS[metric]} if metric in JOBS else {}


class Stack:
    """Start with `start_responder()` (and `start_alerting()` for Prometheus and Alertmanager)."""

    def __init__(self, root: Path, exits: ExitStack) -> None:
        self.root = root
        self._exits = exits
        self.fakes = Fakes()
        self.exporter = Exporter()
        ca = make_ca(root)
        self._ca_file = ca.ca_file
        self.urls = {
            "kube": self._serve(AppThread(self.fakes.kube.app())),
            "slack": self._serve(AppThread(self.fakes.slack.app())),
            "pagerduty": self._serve(AppThread(self.fakes.pagerduty.app(), ca.server)),
            "twilio": self._serve(AppThread(self.fakes.twilio.app())),
            "exporter": self._serve(AppThread(self.exporter.app())),
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.responder: processes.Process | None = None
        self.alertmanagers: list[processes.Process] = []

    def _serve(self, thread: AppThread) -> str:
        return self._exits.enter_context(thread).url

    def _process(self, process: processes.Process) -> processes.Process:
        self._exits.callback(process.stop)
        process.start()
        return process

    # --- starting ---------------------------------------------------------------------------

    def start_responder(self, changes: dict[str, Any] | None = None, urls: dict[str, str] | None = None) -> None:
        """The responder on the live policy; `urls` replaces a channel's URL (say, with a dead port)."""
        channels = channel_policy({**self.urls, **(urls or {})}, self._ca_file)
        config = configs.responder_policy(
            self.root, self.port, self.urls["kube"], NAMESPACES, {**channels, **(changes or {})}
        )
        self.responder = self._process(processes.responder(config, self.port, self.root / "responder.log"))

    def start_alerting(self, replicas: int = 1) -> None:
        """Alertmanager (`replicas` clustered on loopback when more than one), then Prometheus."""
        config = configs.alertmanager_config(self.root, self.url)
        binary = real_binary("prometheus-alertmanager")
        web = [free_port() for _ in range(replicas)]
        gossip = [f"127.0.0.1:{free_port()}" for _ in range(replicas)] if replicas > 1 else [""]
        for i, port in enumerate(web):
            home = self.root / f"alertmanager-{i}"
            home.mkdir()
            peers = tuple(g for g in gossip if g != gossip[i])
            self.alertmanagers.append(
                self._process(processes.alertmanager(binary, config, home, port, gossip[i], peers))
            )
        for alert in (STOP, FREEZE, INVESTIGATE):
            self.calm(alert)  # the series exist before a test moves them: no wait for a new target's first scrape
        home = self.root / "prometheus"
        home.mkdir()
        exporter = self.urls["exporter"].removeprefix("http://")
        configs.prometheus_config(home, exporter, [f"127.0.0.1:{p}" for p in web])
        port = free_port()
        self.prometheus_url = f"http://127.0.0.1:{port}"
        self._process(processes.prometheus(real_binary("prometheus"), home, port))
        # Prometheus applies discovered targets about five seconds after it starts: wait for the
        # first scrape, so that timings measure the chain, not Prometheus's start-up.
        processes.wait_for("the first scrape of the exporter", self._scraped, 30, interval=0.2)

    def _scraped(self) -> bool:
        query = urllib.parse.urlencode({"query": 'up{job="synthetic"} == 1'})
        with urllib.request.urlopen(f"{self.prometheus_url}/api/v1/query?{query}", timeout=5) as response:
            return bool(json.load(response)["data"]["result"])

    # --- the responder's APIs and journal -----------------------------------------------------

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (or POST `body` as JSON) with the bearer token; the decoded answer, whatever its status."""
        data = None if body is None else json.dumps(body).encode()
        return json.loads(self.post(path, data)[1])

    def post(self, path: str, data: bytes | None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """A request as a client sends it (POST when there is `data`): status and body."""
        sent = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def firing_bodies(self, alertname: str) -> list[bytes]:
        """Journaled notifications (raw, as Alertmanager sent them) with `alertname` firing."""
        return [
            body
            for body in self.bodies()
            if any(
                a["status"] == "firing" and a["labels"]["alertname"] == alertname for a in json.loads(body)["alerts"]
            )
        ]

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the responder's `name` samples that carry every one of `labels`."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith((name + "{", name + " ")) and all(w in line for w in wanted)
        )

    def instances(self, alertname: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api(f"/api/v1/alerts?alertname={alertname}&limit=1000")["alerts"]
        return found

    def steps(self, alertname: str, kind: str) -> list[dict[str, Any]]:
        """Every step of `kind` for every instance of `alertname`, from the audit API."""
        found = []
        for fingerprint in {i["fingerprint"] for i in self.instances(alertname)}:
            for instance in self.api(f"/api/v1/alerts/{fingerprint}")["instances"]:
                found += [s for s in instance["steps"] if s["kind"] == kind]
        return found

    def bodies(self) -> list[bytes]:
        """Every journaled notification's body, in the order they arrived."""
        return journal_rows.bodies(self.journal)

    @property
    def ca_file(self) -> Path:
        """The test CA the PagerDuty fake's certificate is signed by."""
        return self._ca_file

    @property
    def journal(self) -> Path:
        """The responder's SQLite journal, for tests.journal_rows to read what no API exposes."""
        return self.root / "journal.db"

    def deliveries_by_replica(self) -> Counter[str]:
        """Notifications journaled, per Alertmanager (its external URL is in every payload)."""
        return Counter(json.loads(body)["externalURL"] for body in self.bodies())

    # --- the chain --------------------------------------------------------------------------

    def trip(self, alert: tuple[str, str, float, float], **labels: str) -> float:
        _, metric, bad, _ = alert
        return self.exporter.set(metric, bad, **{**_scope(metric), **labels})

    def calm(self, alert: tuple[str, str, float, float], **labels: str) -> float:
        _, metric, _, good = alert
        return self.exporter.set(metric, good, **{**_scope(metric), **labels})

    def remediated(self, alertname: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the first remediation step of `alertname` to succeed; returns it."""

        def done() -> dict[str, Any] | None:
            return next((s for s in self.steps(alertname, "remediation") if s["status"] == "succeeded"), None)

        return processes.wait_for(f"{alertname} remediated", done, timeout, interval=0.2)

    def timing(self, alertname: str, changed_at: float) -> Timing:
        step = self.remediated(alertname)
        received = min(i["first_seen"] for i in self.instances(alertname))
        finished = next(a["finished_at"] for a in step["attempts"] if a["status"] == "succeeded")
        return Timing(alertname, changed_at, received, finished)

    def resolved(self, alertname: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            found = self.instances(alertname)
            return found if found and all(i["status"] == "resolved" for i in found) else None

        return processes.wait_for(f"{alertname} resolved", done, timeout, interval=0.2)

    def settled(self, timeout: float = 60.0) -> None:
        """Wait until the responder has no unfinished notification or step (its backlog is empty)."""
        processes.wait_for("the responder's backlog to drain", lambda: self.backlog() == 0, timeout, interval=0.2)

    def backlog(self) -> int:
        return journal_rows.unfinished_count(self.journal, due_before=time.time() + 1)  # a later rung is not backlog
