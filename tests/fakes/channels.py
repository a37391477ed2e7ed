"""Policy settings that point every escalation channel at its contract fake.

Shared by the escalation unit tests and the end-to-end tests, so that both exercise the same
channel configuration a user would write, only with the fakes' URLs and credentials.
"""

from pathlib import Path
from typing import Any

from tests.fakes import pagerduty, slack, twilio

SIGNING_SECRET = "slack-signing-secret-for-tests"
WEBHOOK_SECRET = "pagerduty-webhook-secret-for-tests"
ONCALL = "+15550000999"


def channel_policy(urls: dict[str, str], ca_file: Path) -> dict[str, Any]:
    """Dotted policy changes for Slack, PagerDuty (TLS, trusting `ca_file`) and Twilio at `urls`."""
    return {
        "escalation.slack": {
            "bot_token": slack.TOKEN,
            "signing_secret": SIGNING_SECRET,
            "base_url": urls["slack"] + "/api/",
            "channel": {"default": "#alerts", "severity": {"critical": "#incidents"}},
            "allowed_users": ["UALLOWED"],
            "allowed_groups": ["SONCALL"],
            "messages_per_second": 50,
        },
        "escalation.pagerduty": {
            "routing_key": {"default": pagerduty.ROUTING_KEY},
            "webhook_secret": WEBHOOK_SECRET,
            "base_url": urls["pagerduty"],
            "ca_file": str(ca_file),
            "events_per_minute": 6000,
        },
        "escalation.sms": {
            "account_sid": twilio.ACCOUNT_SID,
            "auth_token": twilio.AUTH_TOKEN,
            "from": twilio.SENDER,
            "to": {"default": [ONCALL]},
            "base_url": urls["twilio"],
            "messages_per_second": 50,
            "timeout_seconds": 1,
        },
    }
