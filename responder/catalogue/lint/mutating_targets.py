"""Mutating actions name a static target: namespace plus deployment or selector."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.vocabulary import MUTATING


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if rule.kind != "alert":
        return
    targets = {k: v for k, v in rule.annotations.items() if k.startswith("target_")}
    for key, value in sorted(targets.items()):
        if "{{" in value:
            yield f"annotation {key} is templated; targets must be static, labels are untrusted"
    if rule.annotations.get("action") not in MUTATING:
        return
    if not targets.get("target_namespace"):
        yield "mutating action without target_namespace; add target.namespace in the source"
    if not (targets.get("target_deployment") or targets.get("target_selector")):
        yield "mutating action without target_deployment or target_selector; add one in the source"


CHECK = per_rule(
    "mutating-targets",
    "The responder acts only on reviewed targets, never on what a metric label claims.",
    _check,
    needs_ast=False,
)
