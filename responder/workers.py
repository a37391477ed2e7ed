"""Worker slots for one kind of step, shared by the event loop and the journal's thread.

A slot is taken before a claim is made and held while the claimed step's call runs; unused
slots go back as soon as the claim returns. Claims are made in two places: by a dispatcher on
the event loop, and inside the transaction that applies a notification, on the journal's
thread, which takes exactly as many slots as the steps it made due. Hence the lock.
"""

import threading


class Workers:
    def __init__(self, size: int) -> None:
        self.size = size
        self._busy = 0
        self._lock = threading.Lock()
        self.starved = False  # a claim was offered fewer slots than were due: a freed slot wakes the dispatcher

    def take(self, wanted: int) -> int:
        """Up to `wanted` free slots; returns how many were taken."""
        with self._lock:
            taken = max(0, min(wanted, self.size - self._busy))
            self._busy += taken
            return taken

    def give(self, count: int) -> None:
        with self._lock:
            self._busy -= count

    @property
    def busy(self) -> int:
        return self._busy
