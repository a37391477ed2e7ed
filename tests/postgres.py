"""A real PostgreSQL server for the tests, from Debian's `postgresql` package: `initdb` into a
temporary directory, `pg_ctl` listening on 127.0.0.1 (and a Unix socket in that directory),
stopped at the end. PostgreSQL refuses to run as root, so as root the server runs as `nobody`.

Each test that needs one gets an empty database of its own (`fresh_dsn`), on a server started
once per session. Locally a missing server skips; with REQUIRE_REAL_TOOLS=1 it fails.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
_SERVER_USER = "nobody"  # as root: initdb and postgres refuse to run as root
_TIMEOUT = 60  # seconds any pg_ctl step may take


def pg_bin() -> Path | None:
    """The newest installed server's bin directory, or None when no server is installed."""
    versions = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "pg_ctl").exists()), key=lambda p: int(p.parent.name))
    return versions[-1] if versions else None


def require_pg_bin() -> Path:
    found = pg_bin()
    if found is not None:
        return found
    message = "PostgreSQL is not installed; run scripts/test as root, or: apt-get install postgresql"
    if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server in `directory`, on 127.0.0.1:`port`, with `settings` given to postgres (-c)."""

    def __init__(self, bindir: Path, directory: Path, settings: dict[str, str] | None = None) -> None:
        self.bindir, self.directory = bindir, directory
        self.data, self.socket_dir, self.log = directory / "data", directory / "socket", directory / "server.log"
        self.port = free_port()
        self.settings = {"fsync": "on", "max_connections": "200", **(settings or {})}
        self._databases = count(1)
        self._as = pwd.getpwnam(_SERVER_USER) if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> None:
        user = self._as.pw_uid if self._as is not None else None
        group = self._as.pw_gid if self._as is not None else None
        done = subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]],
            user=user,
            group=group,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT + 10,
            check=False,
        )
        if done.returncode != 0:
            tail = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True)
        if self._as is not None:
            for path in (self.directory, self.socket_dir):
                os.chown(path, self._as.pw_uid, self._as.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        options += f" -c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir}"
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(_TIMEOUT), "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(_TIMEOUT))

    def restart(self, mode: str = "immediate") -> None:
        """Stop (immediate: as a crash would, no checkpoint) and start again on the same port."""
        self.stop(mode)
        self.start()

    @property
    def pid(self) -> int:
        """The postmaster's process id, from its pid file (while it runs)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def dsn(self, database: str = SUPERUSER) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def fresh_dsn(self) -> str:
        """A new, empty database's DSN."""
        import psycopg  # only the tests that use a server need the driver

        name = f"t{next(self._databases)}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """A started server in a temporary directory, stopped and removed after the block."""
    bindir = require_pg_bin()
    directory = Path(tempfile.mkdtemp(prefix="responder-pg-"))
    server = PostgresServer(bindir, directory, settings)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server
