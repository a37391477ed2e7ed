"""The generated rules and their hand-written tests, through the real promtool."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

RULE_FILES = sorted((REPO / "rules").glob("*.rules.yml"))
TEST_FILES = sorted((REPO / "rules" / "tests").glob("*.test.yml"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.promtool
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_passes_promtool_check_with_all_lints_fatal(promtool: str, path: Path) -> None:
    result = _run(promtool, "check", "rules", "--lint=all", "--lint-fatal", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.promtool
@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(promtool: str, path: Path) -> None:
    result = _run(promtool, "test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.promtool
def test_promtool_notices_a_broken_expectation(promtool: str, tmp_path: Path) -> None:
    """Guards against a promtool test run that passes whatever the rules say."""
    source = REPO / "rules" / "tests" / "builder_hardening.test.yml"
    broken = tmp_path / "broken.test.yml"
    text = source.read_text().replace(
        "../builder_hardening.rules.yml", str(REPO / "rules" / "builder_hardening.rules.yml")
    )
    broken.write_text(text.replace("severity: critical", "severity: warning", 1))
    result = _run(promtool, "test", "rules", str(broken))
    assert result.returncode != 0
