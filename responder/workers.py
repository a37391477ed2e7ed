"""Worker slots for one kind of step.

A slot is taken for each step claimed, when the claim runs, and held until the step's call to
the cluster or provider returns. Steps are claimed in two places: by a dispatcher, up to the
free slots, and inside the transaction that applies a notification, which leases the steps it
makes due as it inserts them, up to the free slots, and then takes one per lease.
"""


class Workers:
    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self.starved = False  # a claim was offered fewer slots than were due: a freed slot wakes the dispatcher

    @property
    def free(self) -> int:
        return self.size - self.busy

    def take(self, wanted: int) -> int:
        """Up to `wanted` free slots; returns how many were taken."""
        taken = max(0, min(wanted, self.free))
        self.busy += taken
        return taken

    def give(self, count: int) -> None:
        self.busy -= count
