"""scripts/demo tells the story the README shows: every hop of one cost alert, then shuts down."""

import io

from tests.e2e import demo


def test_the_demo_tells_every_hop_of_a_cost_alert_from_metric_to_resolve() -> None:
    out = io.StringIO()
    assert demo.main(out) == 0
    story = out.getvalue()
    for hop in (
        "console: http://127.0.0.1:",
        "Prometheus: CostBudgetExceeded firing",
        "Alertmanager delivered it",
        "scaled autogen-council/o3-audit-proxy 3 → 0, recorded for restore",
        "Slack: CRITICAL CostBudgetExceeded",
        "PagerDuty: incident ar-",
        "SMS to +15550000999",
        "Alertmanager sent the resolve",
        "resolved",
        "shut down",
    ):
        assert hop in story, f"{hop!r} missing from:\n{story}"
