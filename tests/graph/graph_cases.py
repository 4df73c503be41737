"""Small graphs for the metric tests: networkx's real graphs and hand-built ones."""

from __future__ import annotations

import networkx as nx

from belonging.graph import CommunityGraph


def karate_club() -> nx.Graph:
    """Zachary's karate club: 34 members, weighted ties, ``club`` split in two."""
    return nx.karate_club_graph()


def davis_women() -> nx.Graph:
    """Davis' Southern Women, projected onto the women (weight = events shared)."""
    both = nx.davis_southern_women_graph()
    women = [node for node, side in both.nodes(data="bipartite") if side == 0]
    return nx.bipartite.weighted_projected_graph(both, women)


def florentine_families() -> nx.Graph:
    """Padgett's Florentine families (marriage ties), a sparse graph with cut points."""
    return nx.florentine_families_graph()


REAL_GRAPHS = {
    "karate": karate_club,
    "davis": davis_women,
    "florentine": florentine_families,
}


def as_community(graph: nx.Graph, attributes: tuple[str, ...] = ()) -> CommunityGraph:
    """The community graph of a networkx graph (node ids become strings)."""
    return CommunityGraph.from_networkx(graph, attributes=attributes)


def string_nodes(graph: nx.Graph) -> nx.Graph:
    """The same networkx graph with node ids as strings, to compare member ids directly."""
    return nx.relabel_nodes(graph, {node: str(node) for node in graph.nodes})


def two_triangles() -> CommunityGraph:
    """Triangles a-b-c (team x) and d-e-f (team y) joined by the single tie c-d."""
    return CommunityGraph.from_edges(
        list("abcdef"),
        [("a", "b"), ("b", "c"), ("c", "a"), ("d", "e"), ("e", "f"), ("f", "d"), ("c", "d")],
        {"team": {m: ("x" if m in "abc" else "y") for m in "abcdef"}},
    )


def random_community(seed: int, members: int = 60, p: float = 0.06) -> nx.Graph:
    """A sparse random graph with isolates, cut points and a ``team`` attribute (some missing)."""
    graph = nx.gnp_random_graph(members, p, seed=seed)
    teams = ["red", "green", "blue", None]
    for node in graph.nodes:
        team = teams[(node * 7 + seed) % 4]
        if team is not None:
            graph.nodes[node]["team"] = team
    return graph
