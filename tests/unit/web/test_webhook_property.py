"""Arbitrary bodies, headers and sizes at a listening webhook: never a 5xx, never a crash, and
every notification answered 2xx is in the journal."""

import http.client
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from responder.policy import load_policy
from responder.service import Responder, build_responder
from responder.web.app import create_app
from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert, write_policy
from tests.fakes.thread import AppThread

MAX_BODY = 64 * 1024


@dataclass
class Served:
    """The real app on 127.0.0.1 in its own thread and event loop, and the responder behind it."""

    responder: Responder
    port: int

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/webhook", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    policy = load_policy(write_policy(tmp_path, {"server.max_body_bytes": MAX_BODY}), env={})
    responder = build_responder(policy, console=io.StringIO())
    with AppThread(create_app(responder)) as running:
        yield Served(responder, running.port)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def _mutate(payload: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    mutated: dict[str, Any] = json.loads(json.dumps(payload))
    target = mutated["alerts"][0] if key.startswith("alert.") else mutated
    target[key.removeprefix("alert.")] = value
    return mutated


valid = alert_payload(cost_alert())
payload_keys = st.sampled_from(
    [
        "version",
        "status",
        "alerts",
        "truncatedAlerts",
        "groupKey",
        "alert.status",
        "alert.labels",
        "alert.annotations",
        "alert.startsAt",
        "alert.fingerprint",
        "extraField",
    ]
)
bodies = st.one_of(
    st.binary(max_size=2048),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(_mutate, st.just(valid), payload_keys, json_values).map(lambda p: json.dumps(p).encode()),
    st.builds(
        lambda n: json.dumps(alert_payload(*(cost_alert(fingerprint=f"f{i}") for i in range(n)))).encode(),
        st.integers(min_value=0, max_value=400),
    ),
    st.just(json.dumps(valid).encode()),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from(
            [f"Bearer {TOKEN}", "Bearer nope", "Basic Zm9vOmJhcg==", "", "Bearer", "Bearer \xff\xfe", "Basic \xe9"]
        ),
        "Content-Type": st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", "multipart/form-data", ""]
        ),
    },
)


def test_no_input_gets_a_5xx_and_every_2xx_is_journaled(server: Served) -> None:
    journal = server.responder.policy.journal_path
    accepted: list[int] = []

    @settings(max_examples=200, deadline=None)
    @given(body=bodies, request_headers=headers)
    @example(  # random draws alone miss a fully valid request about one run in ten
        body=json.dumps(valid).encode(),
        request_headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    def post_anything(body: bytes, request_headers: dict[str, str]) -> None:
        status, answer = server.post(body, request_headers)
        assert status < 500, answer
        if 200 <= status < 300:
            notification_id = json.loads(answer)["id"]
            assert journal_rows.body(journal, notification_id) is not None, (
                f"notification {notification_id} was answered 200 but is not in the journal"
            )
            accepted.append(notification_id)
        else:
            assert json.loads(answer)["detail"], "every refusal says what was wrong"

    post_anything()
    assert accepted, "the fuzz run accepted nothing; the strategies are broken"
