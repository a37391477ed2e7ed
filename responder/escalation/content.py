"""What every channel says about an alert instance, in words, before any channel formats it.

Alert content is untrusted (labels come from metric data): nothing here builds markup; each
channel escapes what it shows. Links are taken only from the rule's reviewed annotations and
only when they are plain http(s) URLs. Text from an alert is passed through `one_line`, so that
a newline, a terminal control or a bidi override in a label cannot forge or hide a line in a
console, an SMS or a thread.
"""

from collections.abc import Mapping
from typing import Any

from responder.journal import Instance, Step, StepResult
from responder.targets import Target

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
EVENT_RANK = {"remediation_failed": 0, "firing": 1, "acknowledged": 2, "resolved": 3, "update": 4}
MAX_FINDINGS_CHARS = 2500
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """`text` with every unprintable character (controls, ESC, NUL, line and paragraph separators,
    bidi overrides, other format characters) written as its escape: `\\n`, `\\x1b`, `\\u202e`."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _NAMED_ESCAPES.get(c) or _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def priority(step: Step) -> int:
    """Lower goes first when a provider's rate limit makes messages wait: critical first."""
    rank = SEVERITY_RANK.get(step.instance.severity, len(SEVERITY_RANK))
    return rank * 10 + EVENT_RANK.get(step.params.get("event", ""), 9)


def summary(instance: Instance) -> str:
    return one_line(instance.annotations.get("summary") or instance.alertname)


def targets(instance: Instance) -> list[str]:
    target = Target.from_annotations(instance.annotations)
    return [target.key] if target else []


def links(instance: Instance) -> list[tuple[str, str]]:
    """(label, url) for the runbook and dashboard, when the rule gives them as plain URLs."""
    found = []
    for label, key in (("Runbook", "runbook_url"), ("Dashboard", "dashboard_url")):
        url = instance.annotations.get(key, "")
        if url.startswith(("https://", "http://")) and not any(c in url for c in '<>|\n "'):
            found.append((label, url))
    return found


def action_words(instance: Instance) -> str:
    return {
        "EMERGENCY_STOP": "EMERGENCY_STOP: scale the targets to zero",
        "FREEZE_DEPLOYMENTS": "FREEZE_DEPLOYMENTS: pause rollouts",
        "INVESTIGATE": "INVESTIGATE: collect evidence",
    }.get(instance.action, "none: notify only")


def _findings(findings: Any) -> str:
    """INVESTIGATE findings as lines a person reads, whatever shape the collector gave them."""
    if isinstance(findings, Mapping):
        lines = []
        for key, value in findings.items():
            if isinstance(value, list | tuple):
                lines.append(f"{one_line(str(key))}: {len(value)}")
                lines += [f"  - {_short(item)}" for item in value[:5]]
                if len(value) > 5:
                    lines.append(f"  - … {len(value) - 5} more")
            else:
                lines.append(f"{one_line(str(key))}: {_short(value)}")
        text = "\n".join(lines)
    elif isinstance(findings, list | tuple):
        text = "\n".join(f"- {_short(item)}" for item in findings)
    else:
        text = _short(findings, MAX_FINDINGS_CHARS)
    return text if len(text) <= MAX_FINDINGS_CHARS else text[: MAX_FINDINGS_CHARS - 1] + "…"


def _short(value: Any, limit: int = 200) -> str:
    text = one_line(", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, Mapping) else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remediation_text(step: Step, result: StepResult) -> str:
    """One remediation's outcome for the thread; findings of INVESTIGATE as a summary."""
    detail = result.detail
    target = step.params.get("target", {})
    where = f"{target.get('namespace')}/{target.get('deployment') or target.get('selector')}" if target else "?"
    head = f"{step.name} on {one_line(where)}: {result.status}"
    if detail.get("mode") == "plan":
        head += f" (plan mode, changed nothing: would {detail.get('would', '?')})"
    elif "message" in detail:
        head += f": {_short(detail['message'], 500)}"
    elif "error" in detail:
        head += f": {_short(detail['error'], 500)}"
    if "findings" in detail:
        head += "\nFindings:\n" + _findings(detail["findings"])
    return head


def escalation_text(step: Step, result: StepResult) -> str:
    """A ladder rung that went out on another channel, for the Slack thread."""
    said = result.detail.get("summary") or f"notified via {result.detail.get('via', step.name)}"
    return f"Escalated (rung {step.params.get('rung', 0)}): {step.name}: {one_line(str(said))}"
