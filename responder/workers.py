"""Worker slots for one kind of step.

A slot is taken for each step claimed, when the claim runs, and held until the step's call to
the cluster or provider returns. Steps are claimed in two places: by a dispatcher, up to the
free slots, and inside the transaction that applies a notification, which leases the steps it
makes due as it inserts them, up to the free slots, and then takes one per lease.

A journal may run those transactions on a thread of its own while the event loop frees slots,
so the count changes under a lock. Only claims take slots, and a journal runs its claims one
at a time, so slots found free stay free until the claim takes them.
"""

import threading


class Workers:
    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self._lock = threading.Lock()
        self.starved = False  # a claim was offered fewer slots than were due: a freed slot wakes the dispatcher

    @property
    def free(self) -> int:
        return self.size - self.busy

    def take(self, wanted: int) -> int:
        """Up to `wanted` free slots; returns how many were taken."""
        with self._lock:
            return self._take(wanted)

    def claim(self, count: int, offered: int) -> int:
        """A dispatcher's claim of `count` steps, offered `offered` slots: takes a slot for each,
        and marks the pool starved if the claim used every slot offered and none came free since."""
        with self._lock:
            taken = self._take(count)
            self.starved = count == offered and not self.free
            return taken

    def _take(self, wanted: int) -> int:
        taken = max(0, min(wanted, self.free))
        self.busy += taken
        return taken

    def give(self, count: int) -> bool:
        """Free `count` slots; returns whether a claim was starved (its dispatcher wants waking)."""
        with self._lock:
            self.busy -= count
            return self.starved
