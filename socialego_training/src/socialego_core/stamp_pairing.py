"""Pair two streams by exact stamp (the annotator's camera images and the pose arrays copied
from them), without ROS: whichever of a pair arrives second completes it; unpaired items are
kept up to ``capacity`` per stream, the oldest dropped first."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")
Key = tuple[int, int]  # (sec, nanosec) of a header stamp


class StampPairer(Generic[A, B]):
    """Holds unpaired ``A`` (e.g. images) and ``B`` (e.g. poses) by stamp key."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self._a: OrderedDict[Key, A] = OrderedDict()
        self._b: OrderedDict[Key, B] = OrderedDict()
        self.dropped = 0  # items that left a full queue unpaired

    def _keep(self, queue: OrderedDict, key: Key, item: Any) -> None:
        queue[key] = item
        queue.move_to_end(key)
        while len(queue) > self.capacity:
            queue.popitem(last=False)
            self.dropped += 1

    def add_a(self, key: Key, item: A) -> tuple[A, B] | None:
        """Add an A; (A, B) when the B of that stamp was waiting, else None (A kept)."""
        other = self._b.pop(key, None)
        if other is not None:
            return item, other
        self._keep(self._a, key, item)
        return None

    def add_b(self, key: Key, item: B) -> tuple[A, B] | None:
        """Add a B; (A, B) when the A of that stamp was waiting, else None (B kept)."""
        other = self._a.pop(key, None)
        if other is not None:
            return other, item
        self._keep(self._b, key, item)
        return None

    def clear(self) -> None:
        self._a.clear()
        self._b.clear()

    def __len__(self) -> int:
        return len(self._a) + len(self._b)
