"""Alert names are CamelCase, belong to one system, and are unique per severity."""

import re
from collections.abc import Iterator, Sequence

from responder.catalogue.lint_base import Check, Context, RuleView

_CAMEL = re.compile(r"^[A-Z][a-z0-9]*(?:[A-Z]+[a-z0-9]*)*$")


def _run(rules: Sequence[RuleView], ctx: Context) -> Iterator[tuple[RuleView, str]]:
    seen: dict[tuple[str, str], RuleView] = {}
    system_of: dict[str, str] = {}
    for rule in rules:
        if rule.kind != "alert":
            continue
        if not _CAMEL.match(rule.name):
            yield rule, "alert name is not CamelCase (e.g. CostBudgetExceeded)"
        key = (rule.name, rule.labels.get("severity", ""))
        if key in seen:
            yield rule, f"a {key[1]} alert named {rule.name} already exists in {seen[key].source}"
        seen.setdefault(key, rule)
        owner = system_of.setdefault(rule.name, rule.system)
        if owner != rule.system:
            yield rule, f"alert name {rule.name} is already used by system {owner}; rename one"


CHECK = Check(
    "unique-names",
    "Routing, silences and the responder's history all key on the alert name.",
    _run,
)
