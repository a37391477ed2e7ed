"""Bad input at scale, over HTTP, against the responder running as a process: hypothesis sends
malformed and hostile notifications and API requests. No answer is a 5xx, the process stays
up with its memory bounded after every request, no log record carries a credential, nothing
acts outside the policy's namespaces, and the journal is consistent afterwards."""

import json
import string
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert
from tests.e2e.configs import KUBE_TOKEN
from tests.e2e.processes import answers
from tests.e2e.stack import NAMESPACES, Stack
from tests.fakes import pagerduty, slack, twilio
from tests.fakes.channels import SIGNING_SECRET, WEBHOOK_SECRET

EXAMPLES = 300
RSS_GROWTH = 128 * 1024 * 1024  # what the fuzz may add to the process's memory, at most
CREDENTIALS = (TOKEN, KUBE_TOKEN, slack.TOKEN, SIGNING_SECRET, WEBHOOK_SECRET, pagerduty.ROUTING_KEY, twilio.AUTH_TOKEN)
text = st.text(alphabet=string.printable + "éß☃\u202e\x00", max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)


def mostly(*valid: str) -> st.SearchStrategy[str]:
    """Three times in four a value that passes validation, else any text: with even odds, few
    alerts got past validation."""
    return st.integers(0, 3).flatmap(lambda n: text if n == 0 else st.sampled_from(valid))


FINGERPRINT = "4f1c2a9e8d7b6c5a"
# Fingerprints of the test that counts what its own alerts added: the requests before it may
# already have made every instance FINGERPRINT can have.
OWN_FINGERPRINTS = tuple(f"f022{i:012x}" for i in range(64))


@st.composite
def alerts(draw: st.DrawFn, fingerprints: tuple[str, ...] = (FINGERPRINT,)) -> dict[str, Any]:
    """A CostBudgetExceeded alert with hostile values: any action, any target, any times."""
    alert = cost_alert(
        status=draw(mostly("firing", "resolved")),
        fingerprint=draw(mostly(*fingerprints)),
        starts_at=draw(mostly("2026-11-23T13:00:00Z", "0001-01-01T00:00:00Z")),
        action=draw(st.sampled_from(["EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE", "rm -rf /"]) | text),
        target_namespace=draw(st.sampled_from([*NAMESPACES, "kube-system", "alert-responder"]) | text),
        target_deployment=draw(st.sampled_from(["o3-audit-proxy", "gemini-audit", "../../etc"]) | text),
    )
    alert["labels"].update(draw(st.dictionaries(text, text, max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        alert[draw(st.sampled_from(sorted(alert)))] = draw(json_values)
    return alert


def shaped(min_alerts: int = 0, fingerprints: tuple[str, ...] = (FINGERPRINT,)) -> st.SearchStrategy[bytes]:
    return st.lists(alerts(fingerprints), min_size=min_alerts, max_size=3).map(
        lambda found: json.dumps(alert_payload(*found)).encode()
    )


def notification_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(shaped(), json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200))


requests = st.one_of(
    st.tuples(st.just("/webhook"), notification_bodies(), st.sampled_from(["application/json", "text/plain"])),
    st.tuples(
        st.sampled_from(["/api/v1/restore", "/api/v1/unfreeze", f"/api/v1/alerts/{FINGERPRINT}/ack"]),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.just("application/json"),
    ),
    st.tuples(
        st.builds(
            lambda prefix, name: prefix + urllib.parse.quote(name, safe=""),
            st.sampled_from(["/api/v1/alerts/", "/api/v1/freezes/", "/api/v1/freezes/autogen-council/"]),
            text,
        ),
        st.none(),
        st.just("application/json"),
    ),
)


def rss(stack: Stack) -> int:
    """The responder process's resident memory, in bytes."""
    assert stack.responder is not None and stack.responder.popen is not None
    status = Path(f"/proc/{stack.responder.popen.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int]]:
    """The stack, and the responder's memory before the first hostile request."""
    with ExitStack() as exits:
        running = Stack(tmp_path_factory.mktemp("fuzz"), exits)
        running.start_responder()
        yield running, rss(running)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests)
def test_hostile_requests_never_get_a_5xx_nor_grow_memory(
    live: tuple[Stack, int], request: tuple[str, bytes | None, str]
) -> None:
    stack, before = live
    path, body, content_type = request
    status, answer = stack.post(path, body, {"Content-Type": content_type})
    assert status < 500, f"{path} answered {status}: {answer[:300]!r}"
    assert rss(stack) < before + RSS_GROWTH, f"memory grew from {before} to {rss(stack)} bytes"


def send_hostile_alerts(stack: Stack) -> None:
    """100 notifications shaped like Alertmanager's, most of their alerts valid: among the mixed
    requests above there are few, and one CI run had none reach the engine. Their fingerprints are
    their own, so each valid one makes a new instance. None gets a 5xx."""

    @settings(max_examples=100, deadline=None)
    @given(body=shaped(min_alerts=1, fingerprints=OWN_FINGERPRINTS))
    def send(body: bytes) -> None:
        status, answer = stack.post("/webhook", body, {"Content-Type": "application/json"})
        assert status < 500, f"/webhook answered {status}: {answer[:300]!r}"

    send()


def test_after_hostile_alerts_the_responder_is_up_acted_only_in_its_namespaces_and_its_journal_is_consistent(
    live: tuple[Stack, int],
) -> None:
    """Sends its own alerts, so that what it counts does not depend on the tests before it."""
    stack, _ = live
    accepted, instances = journal_rows.notification_count(stack.journal), journal_rows.instance_count(stack.journal)
    send_hostile_alerts(stack)
    assert answers(stack.url + "/healthz") and answers(stack.url + "/readyz")
    stack.settled()
    assert {ns for _, ns, _, _ in stack.fakes.kube.writes} <= set(NAMESPACES)
    assert journal_rows.inconsistencies(stack.journal) == []
    assert journal_rows.notification_count(stack.journal) > accepted, "no fuzzed notification was accepted"
    assert journal_rows.instance_count(stack.journal) > instances, (
        "no fuzzed notification got past validation; the fuzz tested only the door"
    )
    assert journal_rows.unapplied_count(stack.journal) == 0
    assert journal_rows.running_steps(stack.journal) == 0


def test_no_log_record_carries_a_credential(live: tuple[Stack, int]) -> None:
    """Run last: every record the fuzz made the responder write."""
    stack, _ = live
    records = (stack.root / "responder.log").read_text("utf-8", "replace").splitlines()
    assert len(records) > 10, "the responder logged almost nothing: this test proves little"
    leaked = [(i, c[:6]) for i, record in enumerate(records) for c in CREDENTIALS if c in record]
    assert leaked == [], f"log records carrying a credential (line, first characters): {leaked[:5]}"
