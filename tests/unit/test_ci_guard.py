from pathlib import Path

from tests.ci_guard import REQUIRED_MODULES, main

CASE = '<testcase classname="{module}" name="t{n}">{body}</testcase>'


def _report(tmp_path: Path, *cases: tuple[str, str]) -> str:
    body = "".join(CASE.format(module=m, n=i, body=b) for i, (m, b) in enumerate(cases))
    path = tmp_path / "junit.xml"
    path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
    return str(path)


def test_passes_when_every_required_module_ran(tmp_path: Path) -> None:
    assert main([_report(tmp_path, *((module, "") for module in REQUIRED_MODULES))]) == 0


def test_fails_when_promtool_tests_were_skipped(tmp_path: Path) -> None:
    skipped = ("tests.promtool.test_promtool", '<skipped message="promtool is not installed"/>')
    assert main([_report(tmp_path, ("tests.promtool.test_promtool", ""), skipped)]) == 1


def test_an_expected_failure_is_not_a_skip(tmp_path: Path) -> None:
    xfailed = ("tests.kube.test_manifests", '<skipped type="pytest.xfail" message="defect: a known one"/>')
    assert main([_report(tmp_path, *((module, "") for module in REQUIRED_MODULES), xfailed)]) == 0


def test_fails_when_promtool_tests_were_never_collected(tmp_path: Path) -> None:
    assert main([_report(tmp_path, ("tests.unit.test_cli", ""))]) == 1


def test_fails_without_a_report(tmp_path: Path) -> None:
    assert main([str(tmp_path / "missing.xml")]) == 1
