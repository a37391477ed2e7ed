"""YAML in and out, strict on the way in and deterministic on the way out.

Humans edit the sources, so a duplicated key (which PyYAML would silently resolve to the last
value) is an error. Generated files are compared byte for byte by the drift check, so the dumper
keeps the key order it is given (callers build mappings in a fixed order and sort label maps),
never wraps lines and writes multi-line strings as literal blocks.
"""

from pathlib import Path
from typing import Any

import yaml


class YamlError(ValueError):
    """A YAML document could not be read; the message names the file and the position."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
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
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise YamlError(f"{name}: invalid YAML: {exc}") from exc


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
