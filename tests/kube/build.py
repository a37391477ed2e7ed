"""Build kube-apiserver and kube-controller-manager v1.20.2 from Debian's source package, once, into a cache.

Debian bookworm ships Kubernetes 1.20.2 as source with `vendor/` included, so it builds offline with Go 1.15
from bullseye. Nothing is installed system-wide: apt runs with a private configuration whose lines point at
the archive this machine's own apt sources already use, the Go toolchain is unpacked with `dpkg-deb -x`, and
everything lands under `cache_dir()`. The one step the source lacks is `pkg/generated/openapi`, generated here
the way upstream's Makefile.generated_files does it (openapi-gen in GOPATH mode over every package tagged
`+k8s:openapi-gen=`); its violations report must equal the checked-in exceptions list, which proves the input
set matches upstream's.

A lock file makes two racing runs build once: the second waits, then finds the binaries. Once built, only the
binaries stay (about 215 MB); the 2 GB of toolchain, source and Go build cache are removed.
Run `python -m tests.kube.build` (scripts/test does); it prints where the binaries are.
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KUBERNETES_VERSION = "v1.20.2"
SOURCE_VERSION = "1.20.5+really1.20.2-1.1+deb12u1"  # bookworm's `kubernetes` source package
SOURCE_SUITE = "bookworm"
GO_SUITE = "bullseye"  # the last Debian release with Go 1.15, which Kubernetes 1.20 is built with
GO_PACKAGES = ("golang-1.15-go", "golang-1.15-src")
BINARIES = ("kube-apiserver", "kube-controller-manager")
APT_SOURCES = Path("/etc/apt")


class BuildError(Exception):
    """The cache could not be built; the message says which step failed and where its output is."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alert-responder" / f"kubernetes-{KUBERNETES_VERSION.removeprefix('v')}"


def binary(name: str) -> Path:
    return cache_dir() / "bin" / name


def missing() -> list[str]:
    return [name for name in BINARIES if not binary(name).is_file()]


def _archive_entries(text: str) -> Iterator[tuple[str, list[str], str]]:
    """(uri, suites, signed-by keyring file) of every entry in one sources file, one-line or deb822."""
    if "URIs:" in text:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                key, sep, value = line.partition(":")
                if sep and not line.startswith(("#", " ")):
                    fields[key.strip().lower()] = value.strip()
            for uri in fields.get("uris", "").split():
                keyring = fields.get("signed-by", "")  # a key embedded in the stanza is not a file: not passed on
                yield uri, fields.get("suites", "").split(), keyring if keyring.startswith("/") else ""
        return
    for line in text.splitlines():
        entry = re.match(r"\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)", line)
        if entry:
            signed = re.search(r"signed-by=(\S+)", entry[2] or "")
            yield entry[3], [entry[4]], signed[1] if signed else ""


def debian_archive(sources: Path = APT_SOURCES) -> tuple[str, str]:
    """The archive URI (and its keyring) this machine's apt already uses for a plain Debian release suite."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*.list"))]
    files += sorted((sources / "sources.list.d").glob("*.sources"))
    release = re.compile(r"^(bookworm|bullseye|trixie|stable|oldstable|testing)$")
    for path in files:
        if not path.is_file():
            continue
        for uri, suites, signed_by in _archive_entries(path.read_text(encoding="utf-8")):
            if any(release.match(suite) for suite in suites):
                return uri.rstrip("/"), signed_by
    raise BuildError(
        f"no Debian release suite (bookworm, bullseye, ...) found in {sources}/sources.list*; "
        "add the Debian archive to apt's sources so the Kubernetes source and Go 1.15 can be fetched"
    )


def _run(command: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    print(f"  {time.monotonic() - started:6.1f}s  {' '.join(word[:60] for word in command[:3])}", flush=True)
    if result.returncode != 0:
        raise BuildError(f"`{' '.join(command)}` exited {result.returncode}; its output is at the end of {log}")


def _apt_env(root: Path) -> dict[str, str]:
    """A private apt: its own sources, lists and downloads; the machine's keyrings and dpkg status."""
    uri, signed_by = debian_archive()
    signed = f" [signed-by={signed_by}]" if signed_by else ""
    for sub in ("lists/partial", "archives/partial", "cache", "sources.list.d", "preferences.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "sources.list").write_text(
        f"deb{signed} {uri} {GO_SUITE} main\ndeb-src{signed} {uri} {SOURCE_SUITE} main\n", encoding="utf-8"
    )
    settings = {
        "Dir::Etc::sourcelist": root / "sources.list",
        "Dir::Etc::sourceparts": root / "sources.list.d",
        "Dir::Etc::preferencesparts": root / "preferences.d",
        "Dir::State::Lists": root / "lists",
        "Dir::Cache": root / "cache",
        "Dir::Cache::archives": root / "archives",
    }
    config = root / "apt.conf"
    config.write_text("".join(f'{key} "{value}";\n' for key, value in settings.items()), encoding="utf-8")
    return {**os.environ, "APT_CONFIG": str(config), "DEBIAN_FRONTEND": "noninteractive"}


def _fetch(cache: Path, log: Path) -> tuple[Path, Path]:
    """Download and unpack the Go toolchain and the Kubernetes source; returns (GOROOT, source tree)."""
    apt = cache / "apt"
    env = _apt_env(apt)
    _run(["apt-get", "update", "-q"], log, env=env)
    _run(["apt-get", "download", "-q", *GO_PACKAGES], log, cwd=apt, env=env)
    _run(["apt-get", "source", "-q", "--download-only", f"kubernetes={SOURCE_VERSION}"], log, cwd=apt, env=env)
    go = cache / "go"
    shutil.rmtree(go, ignore_errors=True)
    for deb in sorted(apt.glob("golang-1.15-*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(go)], log)
    source = cache / "src"
    shutil.rmtree(source, ignore_errors=True)
    dsc = next(apt.glob("kubernetes_*.dsc"))
    # apt verified every file against the archive's signed index; --no-check skips only the .dsc's own
    # signature, whose keyring (debian-keyring) need not be installed.
    _run(["dpkg-source", "--no-check", "-x", str(dsc), str(source)], log)
    return go / "usr/lib/go-1.15", source


def _openapi_packages(source: Path) -> list[str]:
    """Packages upstream's Makefile feeds openapi-gen: tagged files, staging named as vendor, minus two trees."""
    found: set[str] = set()
    for path in source.rglob("*.go"):
        relative = path.parent.relative_to(source).as_posix()
        if relative.startswith(("_", ".", "vendor")):
            continue
        name = re.sub(r"^staging/src/", "vendor/", relative)
        if name.startswith(("vendor/k8s.io/code-generator/", "vendor/k8s.io/sample-apiserver/")):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^// *\+k8s:", text, re.MULTILINE) and "+k8s:openapi-gen=" in text:
            found.add(f"k8s.io/kubernetes/{name}")
    return sorted(found)


def _generate_openapi(cache: Path, goroot: Path, source: Path, log: Path) -> None:
    gopath = cache / "gopath"
    link = gopath / "src/k8s.io/kubernetes"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(source)
    # GOPATH mode resolves vendor/ from the logical path under GOPATH, so PWD must name the link, not its target.
    env = _go_env(cache, goroot) | {"GOPATH": str(gopath), "GO111MODULE": "off", "GOFLAGS": "", "PWD": str(link)}
    tool = cache / "tools/openapi-gen"
    _run(
        ["go", "build", "-o", str(tool), "k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen"], log, link, env
    )
    report = cache / "tools/violations.report"
    command = [str(tool), "--logtostderr", "-i", ",".join(_openapi_packages(source))]
    command += ["-p", "k8s.io/kubernetes/pkg/generated/openapi", "-O", "zz_generated.openapi"]
    command += ["-h", "vendor/k8s.io/code-generator/hack/boilerplate.go.txt", "-r", str(report)]
    _run(command, log, link, env)
    expected = source / "api/api-rules/violation_exceptions.list"
    if report.read_text(encoding="utf-8") != expected.read_text(encoding="utf-8"):
        raise BuildError(f"openapi-gen's violations report {report} differs from {expected}: wrong input packages")


def _go_env(cache: Path, goroot: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOROOT": str(goroot),
        "PATH": f"{goroot / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GOCACHE": str(cache / "gocache"),
        "GOPROXY": "off",
        "GOFLAGS": "-trimpath -mod=vendor",
        "CGO_ENABLED": "0",
    }


def _compile(cache: Path, goroot: Path, source: Path, log: Path) -> None:
    env = _go_env(cache, goroot) | {"GOPATH": str(cache / "gopath")}
    version = f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}"
    version += " -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=20"
    for name in missing():
        partial = cache / "bin" / f".{name}.partial"
        _run(["go", "build", "-ldflags", f"-s -w {version}", "-o", str(partial), f"./cmd/{name}"], log, source, env)
        partial.rename(binary(name))


def build() -> Path:
    """Build whatever binary is missing; a second process waits on the lock and then finds them built."""
    cache = cache_dir()
    (cache / "bin").mkdir(parents=True, exist_ok=True)
    with (cache / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not missing():
            return cache / "bin"
        log = cache / "build.log"
        print(f"building {', '.join(missing())} {KUBERNETES_VERSION} into {cache} (log: {log})", flush=True)
        goroot, source = cache / "go/usr/lib/go-1.15", cache / "src"
        if (
            not (goroot / "bin/go").is_file()
            or not (source / "pkg/generated/openapi/zz_generated.openapi.go").is_file()
        ):
            goroot, source = _fetch(cache, log)
            _generate_openapi(cache, goroot, source, log)
        _compile(cache, goroot, source, log)
        _tidy(cache)
    return cache / "bin"


def _tidy(cache: Path) -> None:
    """Keep the binaries and the log; the toolchain, source and Go build cache (about 2 GB) go. A binary
    deleted later is rebuilt from a fresh fetch."""
    for entry in cache.iterdir():
        if entry.name in ("bin", "build.lock", "build.log"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{what} in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    try:
        with timed("kubernetes binaries ready"):
            where = build()
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(where)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
