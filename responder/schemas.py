"""JSON Schema validation for files humans edit, with messages that say where and what.

Cold path only (catalogue sources, responder.yaml): the pure-Python jsonschema gives the best
messages. The webhook's hot path decodes with msgspec instead (see alerts.py).
"""

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

# A schema marks a field whose value is a credential; a value at or under it is never shown.
SECRET_MARK = "x-secret"
# Validators whose messages name keys only, never the value, so they are kept where a secret is.
_KEYS_ONLY = frozenset({"required", "additionalProperties"})


class ProblemsError(Exception):
    """Something cannot be used or done; `problems` lists every reason, so that one run fixes them all.

    The command line prints `headline`, then each problem on a line of its own. Subclasses set
    `headline` once for every instance; a direct instance may be given its own.
    """

    headline = "stopped; fix each problem below and run the command again"

    def __init__(self, problems: Sequence[str], headline: str | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)
        if headline is not None:
            self.headline = headline


@cache
def _validator(schema_path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path.read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _with_refs(root: dict[str, Any], node: Any) -> list[dict[str, Any]]:
    """`node` and the local definitions it refers to (`$ref: "#/$defs/..."`), outermost first."""
    found: list[dict[str, Any]] = []
    while isinstance(node, dict) and node not in found:
        found.append(node)
        ref = node.get("$ref", "")
        node = root.get("$defs", {}).get(ref.removeprefix("#/$defs/")) if ref.startswith("#/$defs/") else None
    return found


def _child(root: dict[str, Any], node: Any, step: str | int) -> Any:
    for schema in _with_refs(root, node):
        if isinstance(step, int) and isinstance(schema.get("items"), dict):
            return schema["items"]
        if isinstance(step, str):
            if step in schema.get("properties", {}):
                return schema["properties"][step]
            if isinstance(schema.get("additionalProperties"), dict):
                return schema["additionalProperties"]
    return None


def _holds_secret(root: dict[str, Any], node: Any, seen: frozenset[int] = frozenset()) -> bool:
    """Whether a secret field can be anywhere at or below `node`."""
    for schema in _with_refs(root, node):
        if schema.get(SECRET_MARK):
            return True
        if id(schema) in seen:
            continue
        below = [*schema.get("properties", {}).values(), schema.get("additionalProperties"), schema.get("items")]
        if any(_holds_secret(root, child, seen | {id(schema)}) for child in below if isinstance(child, dict)):
            return True
    return False


def _secrecy(root: dict[str, Any], path: list[str | int]) -> str | None:
    """ "is" when the value at `path` is (inside) a secret field, "holds" when one may be inside it."""
    node: Any = root
    for step in path:
        if any(schema.get(SECRET_MARK) for schema in _with_refs(root, node)):
            return "is"
        node = _child(root, node, step)
    if any(schema.get(SECRET_MARK) for schema in _with_refs(root, node)):
        return "is"
    return "holds" if _holds_secret(root, node) else None


def _where(document: Any, path: list[str | int]) -> str:
    """A JSON path made readable: alerts[3] (CostBudgetExceeded).severity."""
    out = ""
    node = document
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            name = node.get("alert") or node.get("name") if isinstance(node, dict) else None
            if name:
                out += f" ({name})"
        else:
            out += f".{step}" if out else step
            node = node.get(step) if isinstance(node, dict) else None
    return out or "(top level)"


def problems(document: Any, schema_path: Path, shown_as: Path) -> list[str]:
    """Every schema violation in `document`, each as 'file: where: problem'."""
    validator = _validator(schema_path)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
    root = validator.schema
    assert isinstance(root, dict), f"{schema_path}: a schema file holds an object"
    return [f"{shown_as}: {_where(document, list(e.path))}: {_message(root, e)}" for e in errors]


def _message(root: dict[str, Any], error: jsonschema.ValidationError) -> str:
    """The validator's message, except that a secret's value is never repeated back: the schema
    marks the secret fields, and a value that is or may hold one is described, not shown."""
    secrecy = _secrecy(root, list(error.path))
    if secrecy is None or error.validator in _KEYS_ONLY:
        return error.message
    what = "it is a secret" if secrecy == "is" else "it may hold a secret"
    return f"the value (not shown: {what}) fails `{error.validator}: {error.validator_value}`"
