"""`rules check` refuses generated rules that changed while the ruleset version stayed put."""

import subprocess
from pathlib import Path

import pytest

from responder.cli import main
from tests.conftest import real_binary


def git(root: Path, *args: str) -> None:
    subprocess.run(
        [real_binary("git"), "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        timeout=60,
    )


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def set_version(root: Path, version: str) -> None:
    path = root / "rules" / "catalogue.yaml"
    text = path.read_text()
    old = next(line for line in text.splitlines() if line.startswith("version:"))
    path.write_text(text.replace(old, f"version: {version}"))


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["rules", "--root", str(root), "check"])
    return code, capsys.readouterr().err


def test_a_rule_change_needs_a_version_bump_in_the_same_commit(
    catalogue_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = catalogue_root
    git(root, "init", "-q")
    set_version(root, "2026.1.1")
    assert main(["rules", "--root", str(root), "build"]) == 0
    commit(root, "first ruleset")
    assert check(root, capsys) == (0, "")

    source = root / "rules" / "src" / "shop.yaml"
    threshold = 'shop_cost_dollars{job="shop"} > '
    source.write_text(source.read_text().replace(threshold + "10", threshold + "20"))
    assert main(["rules", "--root", str(root), "build"]) == 0
    code, err = check(root, capsys)
    assert code == 1
    assert err.startswith(
        "the generated rules changed but the ruleset version is still 2026.1.1: bump `version` in rules/catalogue.yaml"
    )
    assert "  rules/shop.rules.yml changed since ruleset version 2026.1.1 was set in " in err
    commit(root, "a threshold, no bump")
    assert check(root, capsys)[0] == 1, "committing does not make it right"

    set_version(root, "2026.1.2")
    assert main(["rules", "--root", str(root), "build"]) == 0
    assert check(root, capsys) == (0, ""), "a bump in progress"
    commit(root, "bump")
    assert check(root, capsys) == (0, "")


def test_outside_a_git_checkout_there_is_nothing_to_compare_with(
    catalogue_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "--root", str(catalogue_root), "build"]) == 0
    assert check(catalogue_root, capsys) == (0, "")
