"""The network picture: a bounded sample of members, laid out once on the server.

A browser draws a few hundred circles comfortably and a person reads no more, so a large
community is shown as a sample of at most ``max_members``: isolated members (up to a third of
the picture, so they are never crowded out) and, for the rest, snowball samples inside the
largest detected communities, sized in proportion to each community. Snowballs keep ties
between sampled members, so silos stay visible; a uniform sample of a sparse community would
show only dots.
Everything is seeded, so one community at one revision always gives the same picture.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np

from belonging.graph.community_graph import CommunityGraph

MAX_MEMBERS = 300
#: The fewest members a sampled community is drawn with.
MIN_SNOWBALL = 10
WIDTH = 800
HEIGHT = 560
_MARGIN = 24
_ISOLATE_STEP = 14
_ISOLATE_LABEL = 28
#: Detected communities 0 .. COLOURS - 1 (largest first) get a colour of their own (classes
#: ``c0`` ..; the palette is in the stylesheet); the rest share ``c-other``.
COLOURS = 8


@dataclass(frozen=True)
class PictureMember:
    member_id: str
    label: str
    x: float
    y: float
    community: int | None
    ties: int
    colour_class: str


@dataclass(frozen=True)
class NetworkPicture:
    members: list[PictureMember]
    ties: list[tuple[float, float, float, float]]
    total_members: int
    total_isolates: int
    shown_isolates: int
    sampled: bool
    width: int = WIDTH
    height: int = HEIGHT
    #: Top of the row of isolated members (the picture's height when there are none).
    isolate_band_y: float = HEIGHT
    #: Detected communities with members in the picture.
    communities_drawn: int = 0


def colour_class(community: int | None) -> str:
    """The stylesheet class colouring a detected community (``isolate`` for members without ties)."""
    if community is None:
        return "isolate"
    return f"c{community}" if community < COLOURS else "c-other"


def sample_members(
    graph: CommunityGraph, membership: np.ndarray, *, max_members: int = MAX_MEMBERS, seed: int = 0
) -> np.ndarray:
    """Positions of the members to draw, sorted: everyone when there are at most ``max_members``.

    Isolated members take up to a third of the picture. The rest goes to the largest detected
    communities in proportion to their connected members (largest remainders), as many
    communities as can each get ``MIN_SNOWBALL`` members, each filled by breadth-first snowballs
    from random members of that community. O(members + sampled ties).
    """
    n = graph.number_of_members
    if n <= max_members:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    degrees = graph.degrees()
    isolated = np.flatnonzero(degrees == 0)
    connected = np.flatnonzero(degrees > 0)
    isolate_quota = min(len(isolated), max_members // 3 if len(connected) else max_members)
    chosen = [np.sort(rng.choice(isolated, isolate_quota, replace=False))] if isolate_quota else []
    budget = min(max_members - isolate_quota, len(connected))
    if budget:
        labels = membership[connected]
        communities, sizes = np.unique(labels, return_counts=True)
        order = np.argsort(-sizes, kind="stable")
        communities, sizes = communities[order], sizes[order]
        # Fragments of two or three members show no silo, so small communities give way.
        kept = len(sizes)
        while kept > 1 and budget * sizes[kept - 1] / sizes[:kept].sum() < MIN_SNOWBALL:
            kept -= 1
        communities, sizes = communities[:kept], sizes[:kept]
        exact = budget * sizes / sizes.sum()
        quota = np.minimum(np.floor(exact).astype(np.int64), sizes)
        short = budget - int(quota.sum())
        for k in np.argsort(-(exact - quota), kind="stable").tolist():
            if short <= 0:
                break
            if quota[k] < sizes[k]:
                quota[k] += 1
                short -= 1
        for community, wanted in zip(communities.tolist(), quota.tolist(), strict=True):
            if wanted:
                inside = connected[labels == community]
                chosen.append(_snowball(graph, membership, inside, wanted, rng))
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)


def _snowball(
    graph: CommunityGraph, membership: np.ndarray, inside: np.ndarray, wanted: int, rng: np.random.Generator
) -> np.ndarray:
    community = membership[inside[0]]
    taken: set[int] = set()
    for start in rng.permutation(inside).tolist():
        if len(taken) >= wanted:
            break
        if start in taken:
            continue
        queue = deque([start])
        taken.add(start)
        while queue and len(taken) < wanted:
            member = queue.popleft()
            for neighbour in graph.neighbours(member).tolist():
                if neighbour not in taken and membership[neighbour] == community:
                    taken.add(neighbour)
                    queue.append(neighbour)
                    if len(taken) >= wanted:
                        break
    return np.fromiter(taken, dtype=np.int64, count=len(taken))


def network_picture(
    graph: CommunityGraph,
    membership: np.ndarray,
    labels: dict[str, str] | None = None,
    *,
    max_members: int = MAX_MEMBERS,
    seed: int = 0,
) -> NetworkPicture:
    """Sample, lay out (networkx ``spring_layout``, seeded) and colour a community for drawing.

    Connected members fill the upper area; isolated members sit in a row along the bottom, where
    a force layout would otherwise fling them to the edges. ``membership`` is each member's
    detected community (0 = largest); ``labels`` optional display text per member id.
    """
    labels = labels or {}
    shown = sample_members(graph, membership, max_members=max_members, seed=seed)
    degrees = graph.degrees()
    sub = graph.adjacency[shown][:, shown].tocoo()
    connected = [int(i) for i in shown if degrees[i] > 0]
    lonely = [int(i) for i in shown if degrees[i] == 0]

    layout_graph = nx.Graph()
    layout_graph.add_nodes_from(i for i in shown.tolist() if degrees[i] > 0)
    layout_graph.add_edges_from(
        (int(shown[r]), int(shown[c])) for r, c in zip(sub.row.tolist(), sub.col.tolist(), strict=True) if r < c
    )
    # Sampled members whose ties all fell outside the sample are laid out like everyone else.
    positions = nx.spring_layout(layout_graph, seed=seed, iterations=80) if connected else {}

    per_row = (WIDTH - 2 * _MARGIN) // _ISOLATE_STEP
    rows = -(-len(lonely) // per_row)
    band_y = HEIGHT - (_ISOLATE_LABEL + rows * _ISOLATE_STEP + _MARGIN) if lonely else float(HEIGHT)
    if not connected:
        band_y = float(_MARGIN)
    coordinates: dict[int, tuple[float, float]] = {}
    if positions:
        xy = np.array([positions[i] for i in connected], dtype=float)
        low, high = xy.min(axis=0), xy.max(axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        scaled = (xy - low) / span
        bottom = band_y - _MARGIN
        for i, (x, y) in zip(connected, scaled.tolist(), strict=True):
            coordinates[i] = (_MARGIN + x * (WIDTH - 2 * _MARGIN), _MARGIN + y * (bottom - _MARGIN))
    for k, i in enumerate(lonely):
        row, column = divmod(k, per_row)
        coordinates[i] = (_MARGIN + _ISOLATE_STEP / 2 + column * _ISOLATE_STEP,
                          band_y + _ISOLATE_LABEL + row * _ISOLATE_STEP)

    members = []
    for i in shown.tolist():
        member_id = graph.member_ids[i]
        community = int(membership[i]) if degrees[i] > 0 else None
        x, y = coordinates[i]
        members.append(PictureMember(
            member_id=member_id, label=labels.get(member_id) or member_id, x=round(x, 1), y=round(y, 1),
            community=community, ties=int(degrees[i]), colour_class=colour_class(community),
        ))
    ties = [
        (*coordinates[int(shown[r])], *coordinates[int(shown[c])])
        for r, c in zip(sub.row.tolist(), sub.col.tolist(), strict=True) if r < c
    ]
    height = HEIGHT if connected or not lonely else int(band_y + _ISOLATE_LABEL + rows * _ISOLATE_STEP + _MARGIN)
    return NetworkPicture(
        members=members,
        ties=[(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)) for x1, y1, x2, y2 in ties],
        total_members=graph.number_of_members,
        total_isolates=int(np.count_nonzero(degrees == 0)),
        shown_isolates=len(lonely),
        sampled=len(shown) < graph.number_of_members,
        height=height,
        isolate_band_y=round(band_y, 1),
        communities_drawn=len({int(membership[i]) for i in connected}),
    )
