"""What one responder process keeps beside the shared PostgreSQL journal."""

from responder.journal import Instance
from responder.journal.postgres_writer import Connection


class Replica:
    """What this process keeps beside the shared database: its name among the replicas, the
    alert instances it read or wrote, and row ids reserved in blocks.

    The instances are a cache, as the SQLite journal keeps one: a repeat, most of what
    Alertmanager sends, then reads nothing. It is cleared when a transaction rolls back. Another
    replica may change an instance meanwhile; what this one then does with its older copy is
    still right, because the database keeps every identity: a repeat is skipped either way, and
    a resolve that another replica applied first is applied again without effect (its steps are
    already planned, under the same keys), with a second `resolved` event in the timeline.
    """

    CACHED_INSTANCES = 65_536
    ID_BLOCK = 256  # ids taken from a table's sequence per round trip

    def __init__(self, name: str) -> None:
        self.name = name
        self.instances: dict[tuple[str, str], Instance] = {}
        self._ids: dict[str, list[int]] = {}
        # (step id, lease_until) of the steps the transaction in progress leases; and those of
        # transactions whose commit was cut off by the database going away: committed or not,
        # nobody runs them, so they are handed back once the database is back.
        self.leasing: list[tuple[int, float]] = []
        self._uncertain: list[tuple[int, float]] = []

    def lost_leasing(self) -> None:
        """The transaction in progress was cut off: what it leased is uncertain."""
        self._uncertain += self.leasing

    def take_uncertain(self) -> list[tuple[int, float]]:
        """The uncertain leases, to hand back; `keep_uncertain` them again if that fails."""
        uncertain, self._uncertain = self._uncertain, []
        return uncertain

    def keep_uncertain(self, leases: list[tuple[int, float]]) -> None:
        self._uncertain += leases

    def remember(self, instance: Instance) -> Instance:
        if len(self.instances) >= self.CACHED_INSTANCES:
            self.instances.clear()
        self.instances[(instance.fingerprint, instance.starts_at)] = instance
        return instance

    def next_id(self, conn: Connection, table: str) -> int:
        """A new row's id in `table` (notifications, instances, steps): from the block this
        process reserved, another block when it is used up, so that an insert needs not read its
        id back. Ids are unique across replicas, and increase with each replica's inserts."""
        ids = self._ids.setdefault(table, [])
        if not ids:
            rows = conn.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, self.ID_BLOCK),
            ).fetchall()
            ids += [row[0] for row in reversed(rows)]
        return int(ids.pop())
