"""Alert label and annotation templates, read as Prometheus reads them (Go text/template).

Prometheus parses every template when it loads a rule file and refuses the whole file when one
does not parse, so the lint must find what its parser finds: unclosed actions, unterminated
strings, blocks without `end`, functions Prometheus does not define and undefined variables.
The same reading tells the checks which `$labels.X` a template uses and whether `$value` is
printed raw, without taking a `$value` written inside a quoted string for a use of it.
"""

import re
from dataclasses import dataclass, field

# Go's built-in template functions plus the ones Prometheus adds (template/template.go).
FUNCTIONS = frozenset(
    {
        "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println",
        "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
        "query", "first", "label", "value", "strvalue", "sortByLabel", "humanize", "humanize1024",
        "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime", "toDuration", "title",
        "toUpper", "toLower", "match", "reReplaceAll", "safeHtml", "stripPort", "stripDomain", "args",
        "tmpl", "pathPrefix", "externalURL", "graphLink", "tableLink", "parseDuration", "urlQueryEscape",
        "now",
    }
)  # fmt: skip
PREDEFINED = frozenset({"$", "$labels", "$value", "$externalLabels", "$externalURL"})
FORMATTERS = frozenset({"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "printf"})
_OPENERS = frozenset({"if", "range", "with", "define", "block"})
_KEYWORDS = _OPENERS | {"else", "end", "template", "break", "continue", "nil", "true", "false"}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\\n]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<char>'(?:[^'\\\n]|\\.)+')
    | (?P<bad_string>["'`])
    | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?))
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>:=|=|\||\(|\)|,)
    | (?P<other>\S)
    )""",
    re.VERBOSE,
)


@dataclass
class Template:
    """What reading one template found."""

    errors: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # X of every $labels.X / .Labels.X / index $labels "X"
    raw_values: int = 0  # actions that print $value with no formatting function
    uses_value: bool = False  # some action reads $value or .Value
    queries: list[str] = field(default_factory=list)  # every `query "…"` the template runs
    query_labels: list[tuple[str, str]] = field(default_factory=list)  # (query, X) for `label "X"` on its result
    dynamic: bool = False  # some action prints something other than a literal


def _actions(text: str, found: Template) -> list[str]:
    actions, rest = [], text
    while "{{" in rest:
        start = rest.index("{{") + 2
        end = rest.find("}}", start)
        if end < 0:
            found.errors.append("an action opened with {{ is never closed with }}")
            break
        body = rest[start:end]
        if body.startswith("-") and body[1:2].isspace():
            body = body[1:]
        if body.endswith("-") and body[-2:-1].isspace():
            body = body[:-1]
        actions.append(body.strip())
        rest = rest[end + 2 :]
    return actions


def _tokens(action: str, found: Template) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(action):
        match = _TOKEN.match(action, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup or "other"
        if kind == "bad_string":
            found.errors.append(f"unterminated quoted string in {{{{ {action} }}}}")
            return []
        tokens.append((kind, match.group(kind)))
    return tokens


def _label_of(kind: str, value: str, nested: bool) -> str | None:
    """The alert label a token reads; `.Labels.X` means the alert's only outside `with`/`range`,
    where `.` is still the alert (inside `with query …` it is the query's result)."""
    prefixes = ("$labels.",) if nested else ("$labels.", ".Labels.")
    for prefix in prefixes:
        if value.startswith(prefix) and kind in ("var", "field"):
            return value[len(prefix) :].split(".")[0]
    return None


def _query(tokens: list[tuple[str, str]]) -> str | None:
    """The PromQL of a `query "…"` call in this action, if there is one."""
    for i, (kind, value) in enumerate(tokens[:-1]):
        if kind == "word" and value == "query" and tokens[i + 1][0] in ("string", "raw"):
            return tokens[i + 1][1][1:-1].replace('\\"', '"')
    return None


def _read_action(tokens: list[tuple[str, str]], variables: set[str], stack: list[str], found: Template) -> None:
    words = [v for k, v in tokens if k == "word"]
    head = tokens[0][1] if tokens and tokens[0][0] == "word" else ""
    query = _query(tokens)
    if query is not None:
        found.queries.append(query)
    if head in _OPENERS:
        stack.append(f"query:{query}" if head in ("with", "range") and query is not None else head)
    elif head == "end":
        if not stack:
            found.errors.append("{{ end }} without an opening if, range or with")
        else:
            stack.pop()
    elif head == "else" and not stack:
        found.errors.append("{{ else }} outside an if, range or with")
    for word in words:
        if word not in FUNCTIONS and word not in _KEYWORDS:
            found.errors.append(f"function {word!r} is not defined in Prometheus templates")
    for i, (kind, value) in enumerate(tokens):
        if kind == "var":
            name = value.split(".")[0]
            declared = i + 1 < len(tokens) and tokens[i + 1][1] in (":=", "=")
            if declared:
                variables.add(name)
            elif name not in variables:
                found.errors.append(f"undefined variable {name!r}")
        if kind == "other":
            found.errors.append(f"unexpected {value!r} in {{{{ {' '.join(v for _, v in tokens)} }}}}")
        label = _label_of(kind, value, nested=bool(stack))
        if label:
            found.labels.append(label)
        following = tokens[i + 1 : i + 3]
        if (
            value == "index"
            and len(following) == 2
            and following[0] == ("var", "$labels")
            and following[1][0] == "string"
        ):
            found.labels.append(following[1][1][1:-1])
    queries = [entry[len("query:") :] for entry in stack if entry.startswith("query:")]
    for i, (kind, value) in enumerate(tokens[:-1]):
        if queries and kind == "word" and value == "label" and tokens[i + 1][0] == "string":
            found.query_labels.append((queries[-1], tokens[i + 1][1][1:-1]))
    values = [v for k, v in tokens if k in ("var", "field") and v in ("$value", ".Value")]
    found.uses_value = found.uses_value or bool(values)
    if values and head not in _OPENERS and head != "else" and not FORMATTERS & set(words):
        found.raw_values += 1
    if head not in ("end", "else", "define") and any(k not in ("string", "raw", "char", "number") for k, _ in tokens):
        found.dynamic = True


def read(text: str) -> Template:
    """Everything the lint needs to know about one template."""
    found = Template()
    variables, stack = set(PREDEFINED), list[str]()
    for action in _actions(text, found):
        if action.startswith("/*"):
            if not action.endswith("*/"):
                found.errors.append("a {{/* comment */}} is not closed")
            continue
        tokens = _tokens(action, found)
        if not tokens:
            if action:
                continue
            found.errors.append("an empty action {{ }}")
            continue
        _read_action(tokens, variables, stack, found)
    for opener in stack:
        found.errors.append(f"{{{{ {opener} }}}} has no {{{{ end }}}}")
    return found
