"""A synthetic community with silos, for benchmarks: ``synthetic_community(100_000, 1_000_000)``.

Members belong to planted silos (a degree-corrected planted partition): most ties stay inside a
silo, degrees are heavy-tailed (Pareto), and a fixed share of members have no tie at all. Each
member gets a ``neighbourhood`` (mostly their silo's, sometimes another or missing), a ``cohort``
(a join year, loosely tied to the silo) and a list of interests that leans on the silo's
favourite topics. Ties are drawn with numpy in a few vectorised rounds, never one at a time.

Run it to print a summary: ``.venv/bin/python bench/synthetic.py --members 10000 --ties 100000``.
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import numpy as np

from belonging.graph import CommunityGraph, symmetric_adjacency

COHORTS = tuple(str(year) for year in range(2015, 2025))


class SyntheticCommunity(NamedTuple):
    """The generated community; unpacks as ``graph, interests, silo``."""

    graph: CommunityGraph
    interests: list[list[str]]
    silo: np.ndarray


def synthetic_community(
    n_members: int = 100_000,
    n_ties: int = 1_000_000,
    seed: int = 0,
    *,
    n_silos: int | None = None,
    within_silo: float = 0.85,
    isolated_share: float = 0.02,
    degree_exponent: float = 2.5,
    max_degree: int | None = None,
    n_topics: int = 500,
) -> SyntheticCommunity:
    """A community of ``n_members`` with exactly ``n_ties`` distinct ties (fewer if impossible).

    Parameters
    ----------
    n_members, n_ties : int
        Size of the community.
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    n_silos : int, optional
        Number of planted silos; default about one per 500 members (at least 2).
    within_silo : float
        Share of tie draws that pick the second member inside the first member's silo.
    isolated_share : float
        Share of members with no tie.
    degree_exponent : float
        Tail exponent of the degree distribution (expected degrees follow a Lomax, or shifted
        Pareto, law: most members have few ties, a few have very many).
    max_degree : int, optional
        Cap on any member's expected degree; default 1% of members (at least 10).
    n_topics : int
        Size of the interest vocabulary.

    Returns
    -------
    SyntheticCommunity
        ``graph`` (attributes ``neighbourhood`` and ``cohort``), ``interests`` (one list of
        tags per member) and ``silo`` (the planted silo of each member, an int array).

    Examples
    --------
    >>> community = synthetic_community(1_000, 5_000, seed=1)
    >>> community.graph.number_of_members, community.graph.number_of_ties
    (1000, 5000)

    Notes
    -----
    Runs in O(n_members + n_ties log n_members) time; 1M ties take a few seconds.
    """
    rng = np.random.default_rng(seed)
    n = n_members
    if n == 0:
        empty = CommunityGraph([], symmetric_adjacency(0, *(np.zeros(0),) * 3))
        return SyntheticCommunity(empty, [], np.zeros(0, dtype=np.int64))
    if n_silos is None:
        n_silos = max(2, n // 500)

    # Silo sizes vary (Dirichlet), members are stored silo by silo so that each silo's
    # cumulative weights form one contiguous slice of the global cumulative array.
    silo_share = rng.dirichlet(np.full(n_silos, 3.0))
    silo = np.sort(rng.choice(n_silos, size=n, p=silo_share))
    silo_start = np.searchsorted(silo, np.arange(n_silos), side="left")
    silo_end = np.searchsorted(silo, np.arange(n_silos), side="right")

    # Lomax (shifted Pareto) weights: a power-law tail and many members with very few ties.
    weight = (1.0 - rng.random(n)) ** (-1.0 / (degree_exponent - 1.0)) - 1.0
    if max_degree is None:
        max_degree = max(10, n // 100)
    if weight.sum() > 0 and n_ties > 0:
        np.minimum(weight, max_degree * weight.sum() / (2.0 * n_ties), out=weight)
    weight[rng.random(n) < isolated_share] = 0.0
    cumulative = np.cumsum(weight)
    total = cumulative[-1] if n else 0.0
    low = np.concatenate([[0.0], cumulative])[silo_start]
    high = cumulative[np.maximum(silo_end - 1, 0)]
    high[silo_end == silo_start] = low[silo_end == silo_start]

    def draw_partners(first: np.ndarray) -> np.ndarray:
        """Second members for ``first``: inside its silo by ``within_silo``, else anywhere."""
        own = silo[first]
        point = np.where(
            rng.random(len(first)) < within_silo,
            low[own] + rng.random(len(first)) * (high[own] - low[own]),
            rng.random(len(first)) * total,
        )
        return np.minimum(np.searchsorted(cumulative, point, side="right"), n - 1)

    def pair_keys(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        keep = first != second
        a = np.minimum(first[keep], second[keep]).astype(np.int64)
        b = np.maximum(first[keep], second[keep]).astype(np.int64)
        return _sorted_unique(a * n + b)

    active = np.flatnonzero(weight > 0)
    possible = len(active) * (len(active) - 1) // 2
    target = min(n_ties, possible)
    # One tie for every member who is not meant to be isolated, so that the isolated share is
    # exactly the planted one; the rest are drawn by weight.
    base = np.empty(0, dtype=np.int64)
    if total > 0.0 and target > 0:
        partner = draw_partners(active)
        for _ in range(5):
            alone = partner == active
            if not alone.any():
                break
            partner[alone] = draw_partners(active[alone])
        base = pair_keys(active, partner)
        if len(base) > target:
            base = np.sort(rng.choice(base, size=target, replace=False))
    extra = np.empty(0, dtype=np.int64)
    for _ in range(50):
        missing = target - len(base) - len(extra)
        if missing <= 0 or total == 0.0:
            break
        draws = int(missing * 1.15) + 16
        first = np.minimum(np.searchsorted(cumulative, rng.random(draws) * total, "right"), n - 1)
        extra = _sorted_unique(np.concatenate([extra, pair_keys(first, draw_partners(first))]))
        extra = extra[~_sorted_contains(base, extra)]
    if len(base) + len(extra) > target:
        extra = rng.choice(extra, size=target - len(base), replace=False)
    keys = np.sort(np.concatenate([base, extra]))

    # Shuffle member order so that row positions say nothing about silos.
    order = rng.permutation(n)
    new_position = np.empty(n, dtype=np.int64)
    new_position[order] = np.arange(n)
    rows, cols = new_position[keys // n], new_position[keys % n]
    upper_rows, upper_cols = np.minimum(rows, cols), np.maximum(rows, cols)
    tie_weight = rng.integers(1, 6, size=len(keys)).astype(np.float32)
    adjacency = symmetric_adjacency(n, upper_rows, upper_cols, tie_weight)
    silo = silo[order]

    member_ids = [f"m{i:07d}" for i in range(n)]
    attributes = {
        "neighbourhood": _neighbourhoods(rng, silo, n_silos),
        "cohort": _cohorts(rng, silo, n_silos),
    }
    graph = CommunityGraph(member_ids, adjacency, attributes)
    return SyntheticCommunity(graph, _interests(rng, silo, n_silos, n_topics), silo)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a sort and a mask: faster than hash-based ``np.unique`` here)."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    return values[np.concatenate([[True], values[1:] != values[:-1]])]


def _sorted_contains(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Whether each needle is in the sorted ``haystack``."""
    if len(haystack) == 0:
        return np.zeros(len(needles), dtype=bool)
    at = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    return haystack[at] == needles


def _neighbourhoods(rng: np.random.Generator, silo: np.ndarray, n_silos: int) -> list[str | None]:
    """Mostly the silo's own neighbourhood; 10% elsewhere, 5% missing."""
    names = np.array([f"neighbourhood-{s:04d}" for s in range(n_silos)], dtype=object)
    n = len(silo)
    place = np.where(rng.random(n) < 0.10, rng.integers(0, n_silos, size=n), silo)
    values = names[place]
    values[rng.random(n) < 0.05] = None
    return values.tolist()


def _cohorts(rng: np.random.Generator, silo: np.ndarray, n_silos: int) -> list[str | None]:
    """Half of each silo joined in the silo's main year, the rest any year; 8% missing."""
    years = np.array(COHORTS, dtype=object)
    n = len(silo)
    main_year = rng.integers(0, len(years), size=n_silos)
    year = np.where(rng.random(n) < 0.5, main_year[silo], rng.integers(0, len(years), size=n))
    values = years[year]
    values[rng.random(n) < 0.08] = None
    return values.tolist()


def _interests(
    rng: np.random.Generator, silo: np.ndarray, n_silos: int, n_topics: int
) -> list[list[str]]:
    """Three to eight tags per member: 60% from the silo's ten favourites, the rest Zipf-like."""
    topics = np.array([f"topic-{t:03d}" for t in range(n_topics)], dtype=object)
    favourites = rng.integers(0, n_topics, size=(n_silos, 10))
    popularity = 1.0 / np.arange(1, n_topics + 1)
    popularity /= popularity.sum()
    n = len(silo)
    counts = rng.integers(3, 9, size=n)
    owner = np.repeat(np.arange(n), counts)
    from_silo = rng.random(len(owner)) < 0.6
    tags = np.where(
        from_silo,
        favourites[silo[owner], rng.integers(0, 10, size=len(owner))],
        rng.choice(n_topics, size=len(owner), p=popularity),
    )
    bounds = np.concatenate([[0], np.cumsum(counts)])
    names = topics[tags].tolist()
    return [list(dict.fromkeys(names[bounds[i] : bounds[i + 1]])) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    community = synthetic_community(args.members, args.ties, args.seed)
    elapsed = time.perf_counter() - started
    degrees = community.graph.degrees()
    print(f"members          {community.graph.number_of_members:>12,}")
    print(f"ties             {community.graph.number_of_ties:>12,}")
    print(f"isolated         {int((degrees == 0).sum()):>12,}")
    print(f"max degree       {int(degrees.max(initial=0)):>12,}")
    print(f"silos            {len(np.unique(community.silo)):>12,}")
    print(f"built in         {elapsed:>11.2f}s")


if __name__ == "__main__":
    main()
