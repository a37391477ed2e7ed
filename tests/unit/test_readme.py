"""The README's examples are run and their output compared with what the README shows.

Every ```console block is an example: a line starting with `$ ` is a command (a trailing `\\`
continues it on the next line), the lines below it are its standard output. `…` in a line
stands for any text, and a line that is only `…` for any number of lines (timings, ids, the
rest of a long answer). A block that cannot run here says why in an HTML comment on the line
before it, `<!-- not checked: REASON -->`, which a reader does not see.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
MAX_LINES = 300
_BLOCK = re.compile(r"(?:<!-- not checked: (?P<reason>[^>]*?) -->\n)?```console\n(?P<body>.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Example:
    command: str
    expected: list[str]
    skip: str | None  # why the block is not run, or None


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    for block in _BLOCK.finditer(text):
        lines = block["body"].splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise ValueError(f"README console block: output with no command before it: {lines[i]!r}")
            command = lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + lines[i].strip()
            i += 1
            expected = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            found.append(Example(command, expected, block["reason"]))
    return found


def pattern(expected: list[str]) -> re.Pattern[str]:
    """`expected` as a regular expression over the whole output, `…` as any text."""
    parts = ["(?:.*\n)*?" if line == "…" else ".*".join(map(re.escape, line.split("…"))) + "\n" for line in expected]
    return re.compile("".join(parts))


def test_a_line_of_ellipsis_stands_for_any_lines_and_an_ellipsis_in_a_line_for_any_text() -> None:
    assert pattern(["a…", "…", "z"]).fullmatch("abc\nx\ny\nz\n")
    assert pattern(["a…", "z"]).fullmatch("abc\nz\n")
    assert not pattern(["a", "z"]).fullmatch("a\nx\nz\n")
    [example] = examples("```console\n$ echo one \\\n    two\none two\n```\n")
    assert (example.command, example.expected) == ("echo one two", ["one two"])


def test_the_readme_is_a_front_door_not_a_manual() -> None:
    assert len(README.read_text().splitlines()) <= MAX_LINES


def test_every_block_not_checked_says_why() -> None:
    found = examples(README.read_text())
    assert [e for e in found if e.skip is None], "the README has examples that run"
    assert all(e.skip is None or e.skip.strip() for e in found)


@pytest.mark.parametrize("example", examples(README.read_text()), ids=lambda e: e.command[:60])
def test_each_readme_example_prints_what_the_readme_shows(example: Example, tmp_path: Path) -> None:
    if example.skip is not None:
        pytest.skip(f"not checked: {example.skip}")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "NO_COLOR": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-c", example.command], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    shown = "\n".join(example.expected)
    assert pattern(example.expected).fullmatch(done.stdout), (
        f"README shows:\n{shown}\nthe command printed:\n{done.stdout}"
    )
