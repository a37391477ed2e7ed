"""Free space on the journal's filesystem, measured off the webhook's path, against a reserve.

The checkpointer measures once per round (a statvfs and two stats, on its own thread); the
journal keeps the last measurement, so no request pays a syscall for it. Below the reserve the
journal refuses new notifications: what is left stays for the work already accepted, and for
the checkpoint, which copies the WAL into the database and may grow it by as much as the WAL
holds before the WAL can shrink.
"""

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 2**20


@dataclass(frozen=True)
class Space:
    directory: Path  # the journal's directory, on the filesystem measured
    free: int  # bytes this process may still write there
    journal: int  # the database and its WAL, in bytes
    reserve: int  # journal.reserve, in bytes

    @property
    def low(self) -> bool:
        return self.free < self.reserve

    def problem(self) -> str:
        """Why the journal takes no new notification, and what to do."""
        return (
            f"the journal's disk ({self.directory}) has {_mib(self.free)} free, below journal.reserve "
            f"({_mib(self.reserve)}); the journal holds {_mib(self.journal)} (database and WAL). Give the "
            "volume more space, or shorten journal.retention so that pruning frees some: notifications "
            "are accepted again within a second of free space rising above the reserve"
        )


def measure(path: Path, reserve: int) -> Space:
    """The filesystem holding the journal at `path`, now."""
    stat = os.statvfs(path.parent)
    size = sum(_size(path.with_name(path.name + suffix)) for suffix in ("", "-wal"))
    return Space(path.parent, stat.f_bavail * stat.f_frsize, size, reserve)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"
