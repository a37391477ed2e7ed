"""The `journal:` section of responder.yaml: where the responder keeps its journal, and for how long.

`sqlite` (the default: one replica, on its own disk) or `postgresql` (a DSN, read as a
credential: several replicas share one database). The SQLite journal's WAL bound and free-space
reserve apply to it alone.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.durations import parse_duration
from responder.secrets import Secret, misread_url, read_secret

_SIZE_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
MIN_RETENTION_SECONDS = 86400.0


@dataclass(frozen=True)
class JournalSettings:
    path: Path  # the SQLite journal, unless dsn is set
    dsn: Secret | None  # journal.postgresql: the shared journal of several replicas
    retention_seconds: float
    wal_max: int  # bytes: the SQLite WAL's bound
    reserve: int  # bytes kept free on the SQLite journal's disk; below, notifications get 503


def parse_size(text: str) -> int:
    """Bytes in a size such as 64MiB (the schema admits only whole KiB, MiB or GiB)."""
    return int(text[:-3]) * _SIZE_UNITS[text[-3:]]


def _postgresql(journal: Mapping[str, Any], problems: list[str], unread: list[str]) -> Secret | None:
    """journal.postgresql's DSN, read as a credential: it may hold a password. Like the webhook's
    own credentials, one that cannot be read is for `serve` to refuse (`unread`)."""
    if "postgresql" not in journal:
        return None
    if "sqlite" in journal:
        problems.append("journal: give sqlite (one replica) or postgresql (several replicas), not both")
    dsn = read_secret(journal["postgresql"], "dsn", "journal.postgresql", unread)
    told = any(p.startswith("journal.postgresql") for p in [*problems, *unread])
    if (dsn is None or not dsn.value) and not told:
        problems.append(
            "journal.postgresql: give dsn (a libpq connection string or URI, e.g. ${RESPONDER_DSN}) or dsn_file"
        )
    return dsn


def dsn_problem(dsn: str) -> str | None:
    """What makes `dsn` one libpq would misread or refuse, in words that repeat nothing of it
    (it may hold a password), or None."""
    # Imported here: only a policy on PostgreSQL loads the driver.
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if dsn.startswith(("postgresql://", "postgres://")) and (problem := misread_url(dsn)):
        return problem
    try:
        conninfo_to_dict(dsn)
    except ProgrammingError:  # its words quote the DSN
        return (
            "it parses neither as a libpq connection string (key=value pairs; a value with spaces in single "
            "quotes) nor as a URI (postgresql://user:password@host:port/database); check its quoting"
        )
    return None


def journal_from(
    raw: Mapping[str, Any], defaults: Mapping[str, Any], problems: list[str], unread: list[str]
) -> JournalSettings:
    """The journal section over the embedded defaults; what is wrong goes to `problems`."""
    dsn = _postgresql(raw, problems, unread)
    journal = {**defaults, **raw}
    retention = parse_duration(journal["retention"])
    if retention < MIN_RETENTION_SECONDS:
        problems.append(
            "journal.retention: keep at least 1d: the providers' callback ids are kept as long, and a "
            "signed callback replayed after they are forgotten would act again"
        )
    wal_max, reserve = parse_size(journal["wal_max"]), parse_size(journal["reserve"])
    if reserve < wal_max:
        problems.append(
            f"journal.reserve ({journal['reserve']}) is smaller than journal.wal_max ({journal['wal_max']}): a"
            " checkpoint can grow the database by as much as the WAL holds, so a full disk would stay full;"
            " set reserve to wal_max plus a margin for a second of writes"
        )
    return JournalSettings(Path(journal["sqlite"]), dsn, retention, wal_max, reserve)


def describe_journal(settings: JournalSettings) -> str:
    """Which journal the policy uses, for `check-config`: never the DSN, which may hold a password."""
    kept = f"kept {settings.retention_seconds / 86400:g} days"
    if settings.dsn is not None:
        problem = dsn_problem(settings.dsn.value) if settings.dsn.value else None
        warning = f"; WARNING: its DSN cannot be used: {problem}" if problem else ""
        return (
            f"Journal: PostgreSQL (journal.postgresql, shared by every replica; its DSN is not shown), {kept}{warning}"
        )
    return (
        f"Journal: SQLite {settings.path}, {kept}; WAL at most {settings.wal_max // 2**20} MiB; "
        f"below {settings.reserve // 2**20} MiB free on its disk, notifications get 503"
    )
