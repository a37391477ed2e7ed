"""JSON Schema validation for files humans edit, with messages that say where and what.

Cold path only (catalogue sources, responder.yaml): the pure-Python jsonschema gives the best
messages. The webhook's hot path decodes with msgspec instead (see alerts.py).
"""

import difflib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# A schema marks a field whose value is a credential; a value at or under it is never shown.
SECRET_MARK = "x-secret"
# Validators whose messages name keys only, never the value, so they are kept where a secret is.
_KEYS_ONLY = frozenset({"required", "additionalProperties"})
# A schema says in words what a pattern asks for ("a duration such as 30m, 2h or 7d"): a regex
# means nothing to whoever edits the file.
EXPECT_MARK = "x-expect"


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


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line (from 1) where the YAML `text` gives the value at `path`, for messages; None when
    the text does not have it (a default filled in, or text that is not plain YAML)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            return None
    return node.start_mark.line + 1 if node is not None else None


def problems(document: Any, schema_path: Path, shown_as: Path, text: str | None = None) -> list[str]:
    """Every schema violation in `document`, each as 'file: where: problem', or 'file:line: …'
    when `text` (the YAML the document was read from) says where."""
    validator = _validator(schema_path)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
    root = validator.schema
    assert isinstance(root, dict), f"{schema_path}: a schema file holds an object"
    found = []
    for error in errors:
        path = list(error.path)
        for message, key in _messages(root, error):
            line = line_of(text, [*path, key] if key is not None else path) if text is not None else None
            found.append(f"{shown_as}{f':{line}' if line else ''}: {_where(document, path)}: {message}")
    return found


def _messages(root: dict[str, Any], error: jsonschema.ValidationError) -> list[tuple[str, str | None]]:
    """What `error` means in words, and the key it is about when it is about a key: one message
    for each unknown key, with the known key nearest to it."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known and isinstance(k, str)]
        if _secrecy(root, list(error.path)) == "is":  # a secret typed as a key (`routing_key: {R0…}`)
            keys = f"the keys here are {', '.join(sorted(known))}" if known else "nothing else is allowed here"
            return [(f"an unknown key (not shown: it may be a secret); {keys}", None)]
        return [(f"unknown key {key!r}{_nearest(key, known)}", key) for key in unknown]
    return [(_message(root, error, schema.get(EXPECT_MARK)), None)]


def nearest(word: str, known: Sequence[str]) -> str:
    """' — did you mean X?' naming the known word nearest to `word`, or nothing when none is near."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _nearest(word: str, known: list[str]) -> str:
    near = nearest(word, known)
    if near or not known:
        return near or "; nothing else is allowed here"
    return f"; the keys here are {', '.join(sorted(known))}"


def _message(root: dict[str, Any], error: jsonschema.ValidationError, expect: str | None) -> str:
    """The validator's message, except that a secret's value is never repeated back (the schema
    marks the secret fields, and a value that is or may hold one is described, not shown), and
    that a pattern the schema explains in words is said in those words."""
    secrecy = _secrecy(root, list(error.path))
    if secrecy is None or error.validator in _KEYS_ONLY:
        if error.validator == "pattern" and expect:
            return f"{error.instance!r} is not {expect}"
        return error.message
    what = "it is a secret" if secrecy == "is" else "it may hold a secret"
    if expect:
        return f"the value (not shown: {what}) is not {expect}"
    return f"the value (not shown: {what}) fails `{error.validator}: {error.validator_value}`"
