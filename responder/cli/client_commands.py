"""The commands that ask a running responder: status, alerts, holds, operations, ack, restore,
unfreeze. They need only its URL and a token (flags, $RESPONDER_TOKEN or the client config),
never its policy; every failure is one line (see `client.http`)."""

import argparse
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from responder.cli.common import CLIENT, EXIT_OK, OUTPUT, Commands, report
from responder.cli.output import Cell, Tone, colour_on, emit, paint, table
from responder.client.actor import default_actor
from responder.client.config import connection
from responder.client.http import Client
from responder.client.summary import alert_state, current_instance, duration
from responder.escalation.content import one_line
from responder.vocabulary import Undo

MAX_DETAILED = 50  # firing alerts whose timelines `status` reads, one request each
MAX_ALERTS = 1000  # the audit API's largest page


def _client(args: argparse.Namespace) -> Client:
    return Client(connection(args.context, args.url, args.token_file))


def _holds(client: Client) -> list[dict[str, Any]]:
    """Every hold, each with the name of the alert that holds it (a stop recorded by an older
    version names only the instance, fingerprint@startsAt: its name is looked up among the
    recent alerts)."""
    holds = [*client.get("/api/v1/stops")["stops"], *client.get("/api/v1/freezes")["freezes"]]
    if any(not h.get("alert") for h in holds):
        recent = client.get(f"/api/v1/alerts?limit={MAX_ALERTS}")["alerts"]
        names = {a["fingerprint"]: a["alertname"] for a in recent}
        for hold in holds:
            fingerprint = str(hold.get("holder") or "").partition("@")[0]
            hold.setdefault("alert", names.get(fingerprint))
    return holds


def _since(since: object, now: float) -> str:
    """How long ago a hold began: the journal gives seconds since the epoch, a freeze's own record
    an ISO 8601 time."""
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since).timestamp()
        except ValueError:
            return "?"
    return f"{duration(now - since)} ago" if isinstance(since, int | float) else "?"


def _holds_table(holds: list[dict[str, Any]], now: float, colour: bool) -> str:
    rows: list[list[Cell]] = [
        [
            (h["state"], Tone.BAD if h["state"] == "stopped" else Tone.WARN),
            f"{h['namespace']}/{h['deployment']}",
            str(h.get("alert") or h.get("holder") or "?"),
            _since(h.get("since"), now),
        ]
        for h in holds
    ]
    return table(["hold", "deployment", "by alert", "since"], rows, colour)


def _status(args: argparse.Namespace) -> int:
    client = _client(args)
    ready = client.get("/readyz", accept=(503,))
    firing = client.get("/api/v1/alerts?status=firing")["alerts"]
    for alert in firing[:MAX_DETAILED]:
        found = client.get(f"/api/v1/alerts/{quote(alert['fingerprint'], safe='')}", accept=(404,))
        alert["timeline"] = current_instance(found.get("instances", []), alert.get("starts_at", ""))
    holds = _holds(client)
    leases = client.get("/api/v1/leases", accept=(404,))  # 404: a responder older than this client
    data = {"url": client.connection.url, "readiness": ready, "firing": firing, "holds": holds, "leases": leases}
    emit(data, args.output, lambda: _status_text(data, time.time(), colour_on()))
    return EXIT_OK


def _status_text(data: dict[str, Any], now: float, colour: bool) -> str:
    ready = data["readiness"]
    readiness: Cell = (
        ("ready", Tone.GOOD)
        if ready.get("status") == "ready"
        else (f"NOT READY: {ready.get('journal', '?')}", Tone.BAD)
    )
    lines = [
        table(
            ["responder", "readiness", "backlog", "firing", "holds"],
            [
                [
                    data["url"],
                    readiness,
                    str(ready.get("backlog", "?")),
                    str(len(data["firing"])),
                    str(len(data["holds"])),
                ]
            ],
            colour,
        ),
        "",
    ]
    if durability := ready.get("durability"):  # ready, but the database may lose what it committed
        lines[-1:-1] = [paint(f"WARNING: {one_line(str(durability))}", Tone.BAD, colour)]
    rows: list[list[Cell]] = []
    for alert in data["firing"]:
        state = alert_state(alert.get("timeline") or alert, now)
        rows.append(
            [
                alert["alertname"],
                (alert["severity"], Tone.BAD if alert["severity"] == "critical" else None),
                state.age,
                alert.get("action") or "none",
                state.outcome,
                state.next_rung,
                (state.acknowledged, None if state.acknowledged != "no" else Tone.WARN),
                alert["fingerprint"],
            ]
        )
    headers = ["alert", "severity", "age", "action", "outcome", "next rung", "acknowledged", "fingerprint"]
    lines.append(table(headers, rows, colour) if rows else "no firing alerts")
    if len(data["firing"]) > MAX_DETAILED:
        lines.append(f"(outcome, next rung and acknowledgement read for the first {MAX_DETAILED} only)")
    lines += ["", _holds_table(data["holds"], now, colour) if data["holds"] else "no deployment stopped or frozen"]
    lines += ["", _leases_text(data["leases"], now, colour)]
    return "\n".join(lines)


def _leases_text(leases: dict[str, Any], now: float, colour: bool) -> str:
    """Which replica runs which step, and how long its lease has left; on SQLite, that one
    process runs them all."""
    if "shared" not in leases:
        return "leases: not reported by this responder (a version older than this client)"
    if not leases["shared"]:
        return f"journal: {one_line(str(leases.get('detail', '?')))}"
    rows: list[list[Cell]] = [
        [
            str(lease["replica"]),
            f"{lease['kind']} {lease['name']}",
            str(lease["fingerprint"]),
            _lease_left(lease["lease_until"], now),
        ]
        for lease in leases["leases"]
    ]
    answered = f"answered by replica {one_line(str(leases.get('replica', '?')))}"
    if not rows:
        return f"no step running on any replica ({answered})"
    return f"{table(['replica', 'running step', 'fingerprint', 'lease'], rows, colour)}\n({answered})"


def _lease_left(until: object, now: float) -> Cell:
    if not isinstance(until, int | float):
        return "?"
    if until >= now:
        return f"{duration(until - now)} left"
    return (f"ran out {duration(now - until)} ago; another replica takes the step over", Tone.WARN)


def _alerts(args: argparse.Namespace) -> int:
    query = {k: v for k in ("status", "severity", "alertname", "action") if (v := getattr(args, k)) is not None}
    query["limit"] = str(args.limit)
    alerts = _client(args).get(f"/api/v1/alerts?{urlencode(query)}")["alerts"]
    now = time.time()
    rows = [
        [
            (a["status"], Tone.BAD if a["status"] == "firing" else Tone.GOOD),
            a["alertname"],
            a["severity"] or "none",
            a.get("action") or "none",
            f"{duration(now - a['first_seen'])} ago",
            a["fingerprint"],
        ]
        for a in alerts
    ]
    text = table(["status", "alert", "severity", "action", "first seen", "fingerprint"], rows, colour_on())
    emit({"alerts": alerts}, args.output, lambda: text if rows else "no alerts match")
    return EXIT_OK


def _holds_command(args: argparse.Namespace) -> int:
    holds = _holds(_client(args))
    text = _holds_table(holds, time.time(), colour_on()) if holds else "no deployment stopped or frozen"
    emit({"holds": holds}, args.output, lambda: text)
    return EXIT_OK


def _target(target: dict[str, Any]) -> str:
    """NAMESPACE/DEPLOYMENT, or NAMESPACE and the selector, as `restore` and `unfreeze` take them."""
    if target.get("deployment"):
        return f"{target.get('namespace')}/{target['deployment']}"
    return f"{target.get('namespace')} --selector {target.get('selector')}"


def _operations(args: argparse.Namespace) -> int:
    operations = _client(args).get("/api/v1/operations")["operations"]
    now = time.time()
    rows = [
        [
            f"{duration(now - o['at'])} ago",
            o["actor"],
            o["op"],
            _target(o.get("target") or {}),
            ("done", Tone.GOOD) if o["ok"] else ("refused", Tone.BAD),
            o.get("message", ""),
        ]
        for o in operations
    ]
    text = table(["when", "actor", "operation", "target", "result", "message"], rows, colour_on())
    emit({"operations": operations}, args.output, lambda: text if rows else "no operations recorded")
    return EXIT_OK


def _undo(args: argparse.Namespace) -> int:
    """`restore` and `unfreeze`: the running responder does it, and records who asked."""
    namespace, _, deployment = args.target.partition("/")
    if bool(deployment) == bool(args.selector):
        return report(["give NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector"], f"{args.command}: no target:")
    body = {"namespace": namespace, "actor": args.actor or default_actor()}
    body.update({"deployment": deployment} if deployment else {"selector": args.selector})
    answer = _client(args).post(f"/api/v1/{args.command}", body)
    emit(answer, args.output, lambda: str(answer["message"]))
    return EXIT_OK


def _ack(args: argparse.Namespace) -> int:
    """Acknowledge a firing alert on a running responder: its ladder stops."""
    actor = args.actor or default_actor()
    answer = _client(args).post(f"/api/v1/alerts/{quote(args.fingerprint, safe='')}/ack", {"actor": actor})
    if answer["acknowledged"]:
        stopped = ", ".join(answer["ladder_cancelled"]) or "nothing left to stop"
        text = f"acknowledged {args.fingerprint} as {actor}; ladder stopped: {stopped}"
    else:
        text = f"{args.fingerprint} was already acknowledged by {answer['already_acknowledged_by']}"
    emit(answer, args.output, lambda: text)
    return EXIT_OK


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Register the client commands; what runs each."""

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[CLIENT, OUTPUT])

    client("status", "readiness, backlog, firing alerts and holds of a running responder")
    alerts = client("alerts", "recent alert instances, newest first")
    alerts.add_argument("--status", choices=("firing", "resolved"), help="only firing or only resolved ones")
    alerts.add_argument("--severity", help="only this severity")
    alerts.add_argument("--alertname", help="only this alert")
    alerts.add_argument("--action", help="only alerts asking for this action")
    alerts.add_argument("--limit", type=int, default=100, help="at most this many (1 to 1000; default 100)")
    client("holds", "deployments an emergency stop holds at zero or a freeze holds paused")
    client("operations", "who restored or unfroze what, newest first")
    for name, help_text in (
        (Undo.RESTORE, "scale an emergency-stopped deployment back to its recorded replica count"),
        (Undo.UNFREEZE, "lift every freeze on a deployment and resume its rollouts"),
    ):
        undo = client(name, help_text)
        undo.add_argument("target", help="NAMESPACE/DEPLOYMENT, or NAMESPACE with --selector")
        undo.add_argument("--selector", help="a label selector instead of a deployment name")
        undo.add_argument("--actor", help="who asks, for the audit trail (default: cli: and your login name)")
    ack = client("ack", "acknowledge a firing alert: its escalation ladder stops")
    ack.add_argument("fingerprint", help="the alert's fingerprint, as `responder status` shows it")
    ack.add_argument("--actor", help="who acknowledges, for the audit trail (default: cli: and your login name)")
    return {
        "status": _status,
        "alerts": _alerts,
        "holds": _holds_command,
        "operations": _operations,
        Undo.RESTORE: _undo,
        Undo.UNFREEZE: _undo,
        "ack": _ack,
    }
