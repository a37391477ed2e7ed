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

SECRET_SUFFIXES = ("token", "password")


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
    return [f"{shown_as}: {_where(document, list(e.path))}: {_message(e)}" for e in errors]


def _message(error: jsonschema.ValidationError) -> str:
    """The validator's message, except that a secret's value is never repeated back."""
    if any(isinstance(p, str) and p.endswith(SECRET_SUFFIXES) for p in error.path):
        return f"the value (not shown: it is a secret) fails `{error.validator}: {error.validator_value}`"
    return error.message
