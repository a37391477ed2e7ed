"""The composition root: one responder's parts, wired from a policy.

The HTTP app (web/app.py) and the CLI take their parts from here; handlers receive only the
parts they use.
"""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from responder.acknowledgement import Acknowledger
from responder.engine import Engine
from responder.escalation.router import Router, build_router
from responder.journal import Journal
from responder.journal.sqlite import SqliteJournal
from responder.metrics import Metrics, create_metrics
from responder.policy import Policy
from responder.reconcile import Reconciler
from responder.remediation.cluster import ClusterRemediator
from responder.remediation.kube import Kube
from responder.remediation.undo import AlertUndo


@dataclass
class Responder:
    policy: Policy
    journal: Journal
    engine: Engine
    operator: ClusterRemediator  # the remediator, also restore and unfreeze for the API, the CLI and Slack
    metrics: Metrics
    clock: Callable[[], float]
    escalation: Router  # channels; the Slack and PagerDuty callbacks talk back through it
    acknowledge: Acknowledger
    undo: AlertUndo
    reconciler: Reconciler | None  # with an alertmanager: section


def build_journal(policy: Policy) -> Journal:
    """The policy's journal: PostgreSQL when journal.postgresql names one (several replicas share
    it), else the embedded SQLite file. Not started."""
    if policy.journal_dsn is not None:
        from responder.journal.postgres import PostgresJournal  # its driver is needed only for this journal

        return PostgresJournal(policy.journal_dsn.value)
    return SqliteJournal(policy.journal_path, wal_max=policy.journal_wal_max, reserve=policy.journal_reserve)


def build_responder(policy: Policy, clock: Callable[[], float] = time.time, console: TextIO = sys.stdout) -> Responder:
    """Wire the parts. Actions in plan mode need no cluster; the policy requires one for the others."""
    journal = build_journal(policy)
    metrics = create_metrics()
    kube = Kube(policy.kubernetes, policy.remediation_workers) if policy.kubernetes is not None else None
    remediator = ClusterRemediator(policy, journal, kube, clock)
    router = build_router(policy, journal.escalation, console, clock)
    engine = Engine(journal, policy, remediator, router, metrics, clock)
    silence = policy.alertmanager is not None and bool(policy.alertmanager.silence_on_ack_seconds)
    acknowledge = Acknowledger(journal, engine.wake, metrics.ack_seconds, clock, silence)
    undo = AlertUndo(journal, remediator, engine.wake, clock)
    reconciler = Reconciler(policy.alertmanager, journal, engine, metrics, clock) if policy.alertmanager else None
    return Responder(policy, journal, engine, remediator, metrics, clock, router, acknowledge, undo, reconciler)
