"""Pausing Python's cyclic garbage collector while a page of events is folded.

A page of a rebuild holds tens of thousands of freshly made documents until its commit.
Each automatic full collection walks every one of them, more often the larger the page
grows, and none of them is garbage. Measured on a log of a million events: the rebuild
spent about a fifth of its time in those collections (ADR 0011).

`paused()` turns automatic collection off for the length of a block and back on at its
end, only if it was on. Blocks may nest and may run in several threads at once: the
collector comes back on when the last of them ends. Memory freed by reference counting
(almost all of it) is freed as usual meanwhile; only objects in reference cycles wait
for the next collection after the block.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["paused"]

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Run the block with the automatic garbage collection off (back on after it)."""
    global _holders, _was_enabled  # one collector per process
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
