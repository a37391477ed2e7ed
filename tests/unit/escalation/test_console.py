"""Alert data printed on the console cannot forge a line: control characters, line and
paragraph separators and bidi overrides are written as escapes."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from responder.escalation.content import one_line
from tests.conftest import cost_alert

FORGED_LOG = '\n{"ts": 1, "level": "info", "logger": "responder", "msg": "all clear"}'
FORGED_PAGE = "\r\n[pagerduty] RESOLVED critical CostBudgetExceeded: fine | action none"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[2Kgone", "\\x1b[2Kgone"),
        ("nul\x00", "nul\\x00"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("tab\there", "tab\\there"),
        ("plain ünïcode ✓", "plain ünïcode ✓"),
    ],
)
def test_one_line_writes_every_unprintable_character_as_an_escape(text: str, shown: str) -> None:
    assert one_line(text) == shown


async def test_an_alertname_with_a_newline_cannot_forge_a_console_line(start: Callable[..., Any]) -> None:
    harness = await start({})
    alert = cost_alert(action="INVESTIGATE", summary=f"budget{FORGED_PAGE}")
    alert["labels"]["alertname"] = f"CostBudgetExceeded{FORGED_LOG}"
    await harness.deliver(alert)
    lines = harness.console.getvalue().splitlines()
    assert lines, "nothing was printed: the test saw no console line"
    assert all(line.startswith("[") for line in lines)
    assert not any(line.startswith("[pagerduty] RESOLVED") for line in lines)
    for line in lines:
        with pytest.raises(ValueError):
            json.loads(line)
    assert any('CostBudgetExceeded\\n{"ts": 1' in line and "budget\\r\\n[pagerduty]" in line for line in lines)
