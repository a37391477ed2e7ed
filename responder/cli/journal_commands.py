"""`responder journal migrate` and `responder journal copy`: the PostgreSQL journal's schema
for CI/CD, and moving a SQLite journal into PostgreSQL.

A DSN given on the command line shows in the process list: give one without its password and
the password in PGPASSWORD (or ~/.pgpass), which libpq reads.

The PostgreSQL modules are imported by the commands that use them: every other command, and a
responder journaling in SQLite, runs without the driver loaded.
"""

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

from responder.cli.common import EXIT_OK, Commands, report
from responder.policy import load_policy


def _migrate(args: argparse.Namespace) -> int:
    import psycopg

    from responder.journal import postgres_schema
    from responder.journal.postgres_session import connect, describe

    dsn = args.dsn
    if dsn is None:
        policy = load_policy(args.config)
        if policy.journal_dsn is None:
            print(f"{policy.source} journals in SQLite ({policy.journal_path}), which migrates itself at start")
            return EXIT_OK
        dsn = policy.journal_dsn.value
    where = describe(dsn)
    try:
        with connect(dsn, autocommit=True) as conn:
            found = postgres_schema.version(conn)
            postgres_schema.refuse_newer(found, where)
            if args.check:
                return _checked(where, found, postgres_schema.SCHEMA_VERSION)
            applied = postgres_schema.migrate(conn, where)
    except (psycopg.Error, postgres_schema.JournalSchemaError) as exc:
        return report([str(exc).strip()], f"journal migrate: cannot migrate {where}")
    print(f"{where}: journal schema version {postgres_schema.SCHEMA_VERSION} ({applied} migration(s) applied)")
    return EXIT_OK


def _checked(where: str, found: int, current: int) -> int:
    if found == current:
        print(f"{where}: journal schema version {found}, up to date")
        return EXIT_OK
    return report(
        [f"schema version {found}; this responder needs {current}"],
        f"journal migrate --check: {where} needs migrating; run `responder journal migrate`, or start a replica",
    )


def _copy(args: argparse.Namespace) -> int:
    import psycopg

    from responder.journal.postgres_copy import copy_sqlite
    from responder.journal.postgres_session import describe

    where = describe(args.to)
    if not args.source.exists():
        return report([f"{args.source} does not exist; give the path of the SQLite journal file"], "journal copy:")
    try:
        counts = asyncio.run(copy_sqlite(args.source, args.to, where))
    except (psycopg.Error, RuntimeError) as exc:  # the server; a target not empty; the SQLite journal in use
        return report([str(exc).strip()], f"journal copy: nothing copied from {args.source} to {where}")
    print(f"copied {args.source} to {where}:")
    for table, count in counts.items():
        print(f"  {table}: {count}")
    print("now set journal.postgresql in responder.yaml and start the replicas")
    return EXIT_OK


def _journal(args: argparse.Namespace) -> int:
    return _migrate(args) if args.journal_command == "migrate" else _copy(args)


def add_parsers(commands: Commands) -> dict[str, Callable[[argparse.Namespace], int]]:
    journal = commands.add_parser("journal", help="the PostgreSQL journal: migrate its schema, copy SQLite into it")
    journal_commands = journal.add_subparsers(dest="journal_command", required=True)
    migrate = journal_commands.add_parser("migrate", help="bring the PostgreSQL journal's schema up to date")
    migrate.add_argument("--config", type=Path, help="responder.yaml naming the journal (journal.postgresql)")
    migrate.add_argument("--dsn", help="the database, instead of the policy's (password in PGPASSWORD)")
    migrate.add_argument("--check", action="store_true", help="change nothing; exit 1 when a migration is due")
    copy = journal_commands.add_parser("copy", help="copy a SQLite journal into an empty PostgreSQL database")
    copy.add_argument("--from", dest="source", type=Path, required=True, help="the SQLite journal file")
    copy.add_argument("--to", required=True, help="the target database's DSN (password in PGPASSWORD)")
    return {"journal": _journal}
