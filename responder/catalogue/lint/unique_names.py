"""Alert names are CamelCase, belong to one system, and are unique per severity and static labels.

One name may appear several times when its labels tell the copies apart: a critical and a
warning `ServiceDown`, or kubernetes-mixin's `KubeAPIErrorBudgetBurn` once per window pair
(`long`/`short` labels). Routing, silences, panel ids and the responder's history all key on
the name plus those labels, so only two alerts with the same name and the same labels collide.
"""

import re
from collections.abc import Iterator, Sequence

from responder.catalogue.lint_base import Check, Context, RuleView

_CAMEL = re.compile(r"^[A-Z][a-z0-9]*(?:[A-Z]+[a-z0-9]*)*$")


def _labels(rule: RuleView) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(rule.labels.items()))


def _run(rules: Sequence[RuleView], ctx: Context) -> Iterator[tuple[RuleView, str]]:
    seen: dict[tuple[str, str], RuleView] = {}
    system_of: dict[str, str] = {}
    for rule in rules:
        if rule.kind != "alert":
            continue
        if not _CAMEL.match(rule.name):
            yield rule, "alert name is not CamelCase (e.g. CostBudgetExceeded)"
        key = (rule.name, _labels(rule))
        if key in seen:
            yield (
                rule,
                (
                    f"an alert named {rule.name} with the same labels ({key[1]}) already exists in "
                    f"{seen[key].source}; give one a different severity or static label, or rename it"
                ),
            )
        seen.setdefault(key, rule)
        owner = system_of.setdefault(rule.name, rule.system)
        if owner != rule.system:
            yield rule, f"alert name {rule.name} is already used by system {owner}; rename one"


CHECK = Check(
    "unique-names",
    "Routing, silences and the responder's history key on the alert name plus its static labels.",
    _run,
)
