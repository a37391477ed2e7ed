"""Build the Containerfile's image with no registry, unpack it, and run commands from it.

No base image can be pulled here, so the base is made from Debian's packages: `debootstrap`
writes a minimal bookworm root filesystem with python3 and its venv module, `buildah` turns it
into an image from `scratch`, and the Containerfile is built on it (`--build-arg BASE`), its
pip reading wheels that the host's pip prepared (the host's configured pip sources; the build
itself has no index). The image is then pushed to an OCI layout, unpacked by `umoci`, and run
by `chroot` as the image's non-root user in a mount namespace (`unshare`) where the root
filesystem is read-only and only /tmp is writable: as the manifests run it.

Everything slow is cached under `~/.cache/alert-responder/image` (outside the repository): the
root filesystem, the base image, and buildah's layers, so a second run rebuilds only what
changed. Needs root (debootstrap, chroot and mounts do).
"""

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"  # python3 is 3.11 there, as the project targets
PACKAGES = ("python3", "python3-venv")
BASE = f"localhost/alert-responder-base:{SUITE}"
IMAGE = "localhost/alert-responder:test"
TOOLS = {"buildah": "buildah", "debootstrap": "debootstrap", "umoci": "umoci", "unshare": "util-linux"}
USER = "10001:10001"  # the Containerfile's USER, and the Deployment's runAsUser
# What a root filesystem needs for nothing at run time: package caches and lists, docs, locales.
TRIMMED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")
TIMEOUT = 900


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "alert-responder" / "image"


def missing_tools() -> list[str]:
    """`name (Debian package)` for each tool that is not installed."""
    return [f"{tool} (apt-get install {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]


def _run(argv: Sequence[str]) -> str:
    """Run `argv`; its stdout, or an error that names the command and shows what it said."""
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


@dataclass(frozen=True)
class Builder:
    """buildah with its own storage under the cache (vfs: works inside a container too)."""

    cache: Path

    def buildah(self, *args: str) -> str:
        storage = ["--root", str(self.cache / "containers"), "--runroot", str(self.cache / "run")]
        return _run(["buildah", *storage, "--storage-driver", "vfs", *args])

    def has(self, image: str) -> bool:
        return bool(self.buildah("images", "--quiet", "--filter", f"reference={image}").strip())


def root_filesystem(cache: Path) -> Path:
    """A minimal Debian root filesystem with python3, made once."""
    rootfs = cache / f"rootfs-{SUITE}"
    if rootfs.is_dir():
        return rootfs
    partial = cache / f"rootfs-{SUITE}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(partial)])
    for path in TRIMMED:
        shutil.rmtree(partial / path, ignore_errors=True)
        (partial / path).mkdir(parents=True)
    partial.rename(rootfs)  # only a finished one is ever found
    return rootfs


def base_image(builder: Builder, rootfs: Path) -> None:
    """The root filesystem as the image BASE, from scratch, once."""
    if builder.has(BASE):
        return
    archive = builder.cache / "rootfs.tar"
    _run(["tar", "--create", "--file", str(archive), "--numeric-owner", "-C", str(rootfs), "."])
    container = builder.buildah("from", "scratch").strip()
    try:
        builder.buildah("add", container, str(archive), "/")
        builder.buildah("config", "--env", "PATH=/usr/local/bin:/usr/bin:/bin", container)
        builder.buildah("commit", "--quiet", container, BASE)
    finally:
        builder.buildah("rm", container)
        archive.unlink()


def wheels(cache: Path, repo: Path) -> Path:
    """Wheels of the project's dependencies and of its build backend (the Containerfile builds
    the project from source), from the host's configured pip sources."""
    wheelhouse = cache / "wheels"
    backend = tomllib.loads((repo / "pyproject.toml").read_text())["build-system"]["requires"]
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheelhouse), str(repo), *backend])
    for own in wheelhouse.glob("alert_responder-*.whl"):
        own.unlink()  # the build makes its own from the sources it copies
    return wheelhouse


@dataclass(frozen=True)
class Built:
    rootfs: Path  # the image unpacked
    seconds: float  # the whole build, base included when it was not cached
    layers_bytes: int  # the image's compressed layers, as a registry stores them


def build(repo: Path, cache: Path | None = None) -> Built:
    """Build the Containerfile at `repo`, push it to an OCI layout and unpack it."""
    cache = cache or cache_dir()
    started = time.monotonic()
    builder = Builder(cache)
    base_image(builder, root_filesystem(cache))
    wheelhouse = wheels(cache, repo)
    builder.buildah(
        "bud", "--layers", "--isolation", "chroot", "--pull-never", "--quiet",
        "--volume", f"{wheelhouse}:/wheels:ro",
        "--build-arg", f"BASE={BASE}", "--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/wheels",
        "--tag", IMAGE, "--file", str(repo / "Containerfile"), str(repo),
    )  # fmt: skip
    layout, unpacked = cache / "oci", cache / "unpacked"
    shutil.rmtree(layout, ignore_errors=True)
    shutil.rmtree(unpacked, ignore_errors=True)
    builder.buildah("push", "--quiet", IMAGE, f"oci:{layout}:test")
    _run(["umoci", "raw", "unpack", "--image", f"{layout}:test", str(unpacked)])
    return Built(unpacked, time.monotonic() - started, _layers_bytes(layout))


def _layers_bytes(layout: Path) -> int:
    [manifest] = json.loads((layout / "index.json").read_text())["manifests"]
    algorithm, digest = manifest["digest"].split(":")
    layers = json.loads((layout / "blobs" / algorithm / digest).read_text())["layers"]
    return sum(int(layer["size"]) for layer in layers)


# Inside a private mount namespace: the image's root read-only, a fresh /tmp, then the command
# as the image's user. "$1" is the unpacked root, "$2" a file copied to /tmp, the rest the command.
_READ_ONLY_ROOT = """
set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
mount -t tmpfs -o mode=1777 tmpfs "$1/tmp"
cp "$2" "$1/tmp/"
root=$1; shift 2
exec chroot --userspec=USER "$root" "$@"
""".replace("USER", USER)


def run_in(rootfs: Path, argv: Sequence[str], env: dict[str, str], copy: Path) -> subprocess.CompletedProcess[str]:
    """Run `argv` in the unpacked image as its user, root read-only, `copy` placed in /tmp."""
    image_env = {"PATH": "/opt/alert-responder/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", **env}
    command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _READ_ONLY_ROOT, "sh"]
    return subprocess.run(
        [*command, str(rootfs), str(copy), "env", "-i", *(f"{k}={v}" for k, v in image_env.items()), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def main() -> int:
    """`python -m tests.image.build`: build, then say where, how big and how long."""
    built = build(Path(__file__).resolve().parents[2])
    print(f"{IMAGE}: unpacked at {built.rootfs}; layers {built.layers_bytes / 2**20:.0f} MiB; {built.seconds:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
