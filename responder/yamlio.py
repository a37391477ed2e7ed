"""YAML in and out, strict on the way in and deterministic on the way out.

Humans edit the sources, so a duplicated key (which PyYAML would silently resolve to the last
value) is an error. Generated files are compared byte for byte by the drift check, so the dumper
keeps the key order it is given (callers build mappings in a fixed order and sort label maps),
never wraps lines and writes multi-line strings as literal blocks.
"""

import re
from pathlib import Path
from typing import Any

import yaml

# A character the scanner quotes in its message ('\t', '\x00'); longer quoted text can be a piece
# of a value (an alias or tag name), and a value can be a credential.
_QUOTED = re.compile(r"'(?:[^'\\]*(?:\\.[^'\\]*)*)'|\"(?:[^\"\\]*(?:\\.[^\"\\]*)*)\"")
_ONE_CHARACTER = re.compile(r"^.(\\.|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|[^\\])?.$")
_KEY = re.compile(r"^[\s-]*([\w.-]+)\s*:")


class YamlError(ValueError):
    """A YAML document could not be read; the message names the file and the position."""


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key given twice; its message names the key, which is never secret."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKeyError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}; remove one of them",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path, shown_as: Path | None = None) -> Any:
    """Read one YAML document, refusing duplicate keys; errors name the file as `shown_as`."""
    name = shown_as or path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(f"{name}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise YamlError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise YamlError(f"{name}: invalid YAML{_described(exc, text)}") from exc
    except (ValueError, TypeError) as exc:  # a value YAML types but cannot build: its text may be secret
        raise YamlError(
            f"{name}: a value cannot be read as YAML types it ({type(exc).__name__}), e.g. an impossible date"
            " or a mapping used as a key; quote values that are text, and give keys as plain words"
        ) from None


def _described(exc: yaml.YAMLError, text: str) -> str:
    """Where and what, with the key on that line, but never the source text: the line may hold a
    credential, and so may a quoted piece of the parser's message (an alias or a tag is part of a value)."""
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n"), exc.position - (before.rfind("\n") + 1)
        problem = (
            f"character #x{ord(exc.character) if isinstance(exc.character, str) else exc.character:04x}: {exc.reason}"
        )
    elif isinstance(exc, yaml.MarkedYAMLError) and (mark := exc.problem_mark or exc.context_mark) is not None:
        line, column = mark.line, mark.column
        problem = exc.problem or exc.context or "cannot be parsed"
        if not isinstance(exc, _DuplicateKeyError):
            problem = _QUOTED.sub(lambda m: m.group() if _ONE_CHARACTER.match(m.group()) else "(not shown)", problem)
    else:
        return ": cannot be parsed"
    lines = text.splitlines()
    key = _KEY.match(lines[line]) if line < len(lines) else None
    at_key = f" (key {key.group(1)})" if key else ""
    return f" at line {line + 1}, column {column + 1}{at_key}: {problem}"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Serialise `data` the same way every time."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        indent=2,
    )
