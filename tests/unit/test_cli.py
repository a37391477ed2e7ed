from pathlib import Path

import pytest

from responder.cli import main


def test_build_then_check_then_drift(catalogue_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["rules", "--root", str(catalogue_root)]
    assert main([*root, "check"]) == 1
    assert "missing; run `responder rules build`" in capsys.readouterr().err
    assert main([*root, "build"]) == 0
    assert "wrote rules/shop.rules.yml" in capsys.readouterr().out
    assert main([*root, "check"]) == 0
    assert main([*root, "lint"]) == 0
    assert "lint clean: 1 alerts in 1 systems" in capsys.readouterr().out


def test_catalogue_errors_exit_1_with_every_problem(catalogue_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (catalogue_root / "rules" / "src" / "shop.yaml").write_text("system: shop\n")
    assert main(["rules", "--root", str(catalogue_root), "lint"]) == 1
    err = capsys.readouterr().err
    assert "the alert catalogue has errors:" in err
    assert "'title' is a required property" in err
