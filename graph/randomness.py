"""One way to seed igraph, shared by every caller in the process.

igraph draws from a single process-wide random generator. Two callers that each swap in their own
seeded generator (an index build detecting silos, a report detecting communities) would otherwise
interleave in threads and break the repeatable results both promise. Every randomised igraph call
in Belonging runs inside :func:`igraph_seeded`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import igraph as ig

# Reentrant, so a seeded block may call a helper that seeds again (the inner seed wins inside it).
_IGRAPH_RANDOM_LOCK = threading.RLock()


@contextmanager
def igraph_seeded(seed: int) -> Iterator[None]:
    """Run igraph's randomised algorithms with their own ``random.Random(seed)``.

    The generator is swapped in and restored under one process-wide lock, so concurrent callers
    neither disturb each other nor Python's global ``random`` state. Randomised igraph work in
    other threads waits for the block to end.

    >>> import igraph as ig
    >>> g = ig.Graph.Famous("Zachary")
    >>> with igraph_seeded(7):
    ...     first = g.community_leiden(objective_function="modularity").membership
    >>> with igraph_seeded(7):
    ...     again = g.community_leiden(objective_function="modularity").membership
    >>> first == again
    True
    """
    with _IGRAPH_RANDOM_LOCK:
        ig.set_random_number_generator(random.Random(seed))
        try:
            yield
        finally:
            ig.set_random_number_generator(random)
