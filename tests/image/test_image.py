"""The Containerfile builds with no registry, and its image runs read-only as its non-root user."""

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.image import build

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="building the image needs root (debootstrap, chroot and mounts); CI runs as root"
)


@pytest.fixture(scope="module")
def image() -> Iterator[build.Built]:
    if missing := build.missing_tools():
        message = f"cannot build the image without {', '.join(missing)}"
        if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    yield build.build(REPO)


def run(image: build.Built, *argv: str) -> str:
    done = build.run_in(image.rootfs, argv, {}, REPO / "deploy/kubernetes/policy.yaml")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_image_holds_the_package_and_runs_as_its_user_on_a_read_only_root(image: build.Built) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert run(image, "responder", "--version") == f"responder {version}\n"
    assert run(image, "id", "-u") == f"{build.USER.split(':')[0]}\n"
    refused = build.run_in(image.rootfs, ["sh", "-c", "touch /opt/x"], {}, REPO / "pyproject.toml")
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr


def test_check_config_runs_in_the_image(image: build.Built) -> None:
    text = run(image, "responder", "check-config")
    assert text.startswith("Policy: embedded default policy\n")
    assert "EMERGENCY_STOP (" in text


def test_the_image_has_no_build_tools_and_no_healthcheck(image: build.Built) -> None:
    venv = Path(image.rootfs, "opt/alert-responder")
    assert (venv / "bin/responder").is_file()
    assert not list(venv.glob("bin/pip*")), "pip stays in the build stage"
    assert "HEALTHCHECK" not in "".join(
        line for line in (REPO / "Containerfile").read_text().splitlines() if not line.startswith("#")
    )


def test_the_manifests_pre_stop_command_runs_in_the_image(image: build.Built) -> None:
    """Kubernetes runs the hook in the container: its program must be on the image's PATH."""
    [deployment] = [
        d
        for d in yaml.safe_load_all((REPO / "deploy/kubernetes/responder.yaml").read_text())
        if d["kind"] == "Deployment"
    ]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    program, *_ = container["lifecycle"]["preStop"]["exec"]["command"]
    run(image, program, "0")
