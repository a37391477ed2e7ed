"""Block Kit for Slack: the alert's parent message, storm digests, and thread replies.

Every string that came from an alert is escaped for mrkdwn, so a label cannot mention
@channel or forge a link. Buttons carry only the fingerprint; what Restore or Unfreeze act on
is read back from the journal, never from the button.
"""

import re
from collections.abc import Sequence
from typing import Any

from responder.escalation.content import action_words, links, one_line, summary, targets
from responder.journal import Instance

Block = dict[str, Any]
DIGEST_MAX = 20
_SLACK_USER = re.compile(r"[UW][A-Z0-9]+")  # alerts per storm digest: two blocks each, well inside Slack's 50

_SEVERITY_ICON = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def _mrkdwn(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def headline(instance: Instance) -> str:
    """The notification text: what a lock screen shows for the message."""
    return f"{(instance.severity or 'no severity').upper()} {one_line(instance.alertname)}: {summary(instance)}"


def _button(text: str, action_id: str, instance: Instance, style: str | None = None) -> dict[str, Any]:
    """A button naming its alert instance (fingerprint@startsAt), so that pressing it on an old
    message never acts on a newer instance of the same alert."""
    value = instance.holder
    button: dict[str, Any] = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    if action_id in ("restore", "unfreeze"):
        button["confirm"] = {
            "title": _plain(f"{text}?"),
            "text": _mrkdwn(f"This will {text.lower()} what this alert's action changed, as you."),
            "confirm": _plain(text),
            "deny": _plain("Cancel"),
        }
    return button


def buttons(instance: Instance, acknowledged: bool) -> list[dict[str, Any]]:
    found = [] if acknowledged else [_button("Acknowledge", "ack", instance, "primary")]
    if instance.action == "EMERGENCY_STOP":
        found.append(_button("Restore", "restore", instance, "danger"))
    if instance.action == "FREEZE_DEPLOYMENTS":
        found.append(_button("Unfreeze", "unfreeze", instance))
    return found


def parent_blocks(
    instance: Instance, reason: str | None, status: str | None, interactive: bool, acknowledged: bool = False
) -> list[Block]:
    """The alert's own message: what fired, how bad, what the responder did, where to look."""
    icon = (
        ":white_check_mark:"
        if status and status.startswith("Resolved")
        else _SEVERITY_ICON.get(instance.severity, ":bell:")
    )
    description = instance.annotations.get("description", "")
    blocks: list[Block] = [
        {
            "type": "header",
            "text": _plain(f"{(instance.severity or 'no severity').upper()} · {one_line(instance.alertname)}"),
        },
    ]
    if status:
        blocks.append({"type": "context", "elements": [_mrkdwn(f"{icon} {status}")]})
    blocks += [
        {"type": "section", "text": _mrkdwn(f"{icon} *{escape(summary(instance))}*\n{escape(description)}")},
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*Severity*\n{escape(instance.severity or 'none')}"),
                _mrkdwn(f"*Action*\n{escape(action_words(instance))}"),
                _mrkdwn(f"*Targets*\n{escape(', '.join(targets(instance)) or 'none')}"),
                _mrkdwn(f"*Team*\n{escape(instance.labels.get('team', 'unknown'))}"),
            ],
        },
    ]
    if reason:
        blocks.append({"type": "section", "text": _mrkdwn(f":no_entry: *Not remediated:* {escape(reason)}")})
    context = [f"<{url}|{label}>" for label, url in links(instance)]
    context.append(f"fingerprint `{escape(instance.fingerprint)}` · since {escape(instance.starts_at)}")
    blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join(context))]})
    if interactive and (found := buttons(instance, acknowledged)):
        blocks.append({"type": "actions", "block_id": "alert_actions", "elements": found})
    return blocks


def digest_blocks(channel: str, items: Sequence[tuple[Instance, str | None]], interactive: bool) -> list[Block]:
    """Many alerts in one message, when a storm outruns the channel's rate limit."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"Alert storm: {len(items)} alerts for {channel}")},
        {
            "type": "context",
            "elements": [
                _mrkdwn("Coalesced to respect Slack's rate limit, most severe first; updates in this thread.")
            ],
        },
    ]
    for instance, reason in items:
        line = f"{_SEVERITY_ICON.get(instance.severity, ':bell:')} *{escape(headline(instance))}*"
        line += f"\n{escape(action_words(instance))}"
        if reason:
            line += f" · not remediated: {escape(reason)}"
        section: Block = {"type": "section", "text": _mrkdwn(line)}
        if interactive:
            section["accessory"] = _button("Acknowledge", "ack", instance, "primary")
        blocks.append(section)
    return blocks


def reply_text(instance: Instance, params: dict[str, Any], stopped: Sequence[str], in_digest: bool) -> str:
    """A thread reply for an event: remediation outcome, escalation, acknowledgement, resolve."""
    event = params.get("event", "")
    who = f"*{escape(instance.alertname)}*: " if in_digest else ""
    ladder = f"\n:octagonal_sign: Ladder stopped: {escape(', '.join(stopped))} will not be sent." if stopped else ""
    if event == "acknowledged":
        actor = params.get("actor", "someone")
        shown = f"<@{actor.removeprefix('slack:')}>" if actor.startswith("slack:") else escape(actor)
        return f"{who}:eyes: Acknowledged by {shown} via {escape(params.get('via', '?'))}.{ladder}"
    if event == "resolved":
        follow = f"\n{escape(params['follow_up'])}" if "follow_up" in params else ""
        return f"{who}:white_check_mark: Resolved.{follow}{ladder}"
    if event == "remediation_failed":
        return f"{who}:x: Remediation failed: {escape(params.get('reason', 'no detail'))}"
    if event == "firing" and "fallback_from" in params:
        return f"{who}:leftwards_arrow_with_hook: {escape(params['fallback_from'])} failed; Slack is the fallback."
    by = str(params.get("by", ""))
    mention = f"<@{by}> " if _SLACK_USER.fullmatch(by) else ""
    return f"{who}{mention}{escape(params.get('text', ''))}"
