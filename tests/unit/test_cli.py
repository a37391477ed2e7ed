import resource
import subprocess
from pathlib import Path

import pytest
import yaml

from responder.cli import main
from responder.web import server
from tests.conftest import write_policy


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


def test_manifests_build_then_check_then_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"kubernetes": {"in_cluster": True}})
    command = ["manifests", "--root", str(tmp_path), "--config", str(policy)]
    assert main([*command, "check"]) == 1
    assert "deploy/kubernetes/rbac.yaml: missing; run `responder manifests build`" in capsys.readouterr().err
    assert main([*command, "build"]) == 0
    written = ["namespace", "rbac", "responder", "servicemonitor", "kustomization"]
    assert capsys.readouterr().out == "".join(f"wrote deploy/kubernetes/{name}.yaml\n" for name in written)
    assert main([*command, "build"]) == 0
    assert capsys.readouterr().out == "deploy manifests are up to date\n"
    assert main([*command, "check"]) == 0
    assert capsys.readouterr().out == f"deploy manifests match {policy}\n"
    policy.write_text(policy.read_text() + "# edited\n")
    assert main([*command, "check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deploy manifests are out of date with responder.yaml:\n")
    assert "deploy/kubernetes/responder.yaml: differs from what its sources" in err


def test_a_policy_that_cannot_be_granted_says_so_under_its_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write_policy(tmp_path, {"kubernetes": {"in_cluster": True}, "actions.INVESTIGATE.mode": "server"})
    assert main(["manifests", "--root", str(tmp_path), "--config", str(policy), "build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cannot generate least-privilege manifests:\n  actions.INVESTIGATE.allowed_namespaces:")


def test_policy_errors_exit_1_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, {"actions.EMERGENCY_STOP.mode": "yolo"})
    assert main(["check-config", "--config", str(policy)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{policy} has errors:\n  ")
    assert "actions.EMERGENCY_STOP.mode: 'yolo' is not one of" in err


def test_a_policy_without_an_auth_section_serves_only_when_told_insecure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README: serve refuses to start without authentication unless given --insecure-no-auth;
    a policy with no auth section at all is such a policy, not a broken one."""
    path = write_policy(tmp_path)
    document = yaml.safe_load(path.read_text())
    del document["auth"]
    path.write_text(yaml.safe_dump(document))
    assert main(["check-config", "--config", str(path)]) == 0
    assert "serve will refuse to start without --insecure-no-auth" in capsys.readouterr().out
    assert main(["serve", "--config", str(path)]) == 1
    assert "refusing to start" in capsys.readouterr().err


def test_serve_raises_the_soft_open_files_limit_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    try:
        assert server.raise_open_files_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_manifests_build_of_the_same_policy_by_another_path_is_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated files name the policy relative to the root: given as an absolute path, as a
    relative one, or found by default under --root, the same policy writes the same bytes."""
    policy = write_policy(tmp_path, {"kubernetes": {"in_cluster": True}})
    (tmp_path / "deploy" / "kubernetes").mkdir(parents=True)
    policy = policy.rename(tmp_path / "deploy" / "kubernetes" / "policy.yaml")
    assert main(["manifests", "--root", str(tmp_path), "build"]) == 0
    assert capsys.readouterr().out.startswith("wrote ")
    assert main(["manifests", "build", "--root", str(tmp_path), "--config", str(policy)]) == 0
    assert capsys.readouterr().out == "deploy manifests are up to date\n"
    monkeypatch.chdir(tmp_path)
    assert main(["manifests", "build", "--config", "./deploy/kubernetes/policy.yaml"]) == 0
    assert capsys.readouterr().out == "deploy manifests are up to date\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["rules", "build", "--root", "{root}"],
        ["rules", "--root", "{root}", "build"],
        ["--root", "{root}", "rules", "build"],
    ],
)
def test_root_is_accepted_before_or_after_the_subcommand(
    catalogue_root: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(root=catalogue_root) for a in argv]) == 0
    assert "wrote rules/shop.rules.yml" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("responder ")


def test_bash_completion_is_valid_and_lists_the_subcommands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "responder.bash"
    script.write_text(capsys.readouterr().out)
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    listed = subprocess.run(
        [
            "bash",
            "-c",
            f'source {script}; echo "${{_responder_words[responder]}}"; echo "${{_responder_words[responder rules]}}"',
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.splitlines()
    assert {"rules", "status", "alerts", "holds", "operations", "replay", "completion", "--output"} <= set(
        listed[0].split()
    )
    assert {"build", "check", "lint", "preview", "--root"} <= set(listed[1].split())
