"""The community graph and its metrics: pure functions over a graph, no HTTP, no SQL."""

from graph.community_graph import CommunityGraph, symmetric_adjacency

__all__ = ["CommunityGraph", "symmetric_adjacency"]
