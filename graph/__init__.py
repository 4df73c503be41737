"""The community graph and its metrics: pure functions over a graph, no HTTP, no SQL."""

from belonging.graph.at_risk import AtRiskMember, at_risk_members, at_risk_positions, core_members
from belonging.graph.belonging import (
    belonging_by_position,
    belonging_scores,
    mean_score_by_group,
    member_positions,
)
from belonging.graph.brokers import betweenness_centrality, betweenness_pivots, top_brokers
from belonging.graph.clustering import average_clustering, clustering, triangles
from belonging.graph.communities import (
    community_attribute_nmi,
    community_attribute_shares,
    leiden_communities,
    modularity,
    nmi_of_codes,
    shares_of_codes,
)
from belonging.graph.community_graph import CommunityGraph, symmetric_adjacency
from belonging.graph.components import (
    articulation_points,
    biconnected_blocks,
    bridges,
    component_labels,
    component_sizes,
    density,
    isolates,
    largest_component_share,
    number_of_components,
    relabel_by_size,
)
from belonging.graph.mixing import (
    assortativity_of_counts,
    attribute_assortativity,
    attribute_codes,
    attribute_mixing_matrix,
    ei_index,
    ei_index_of_counts,
    group_ei_index,
    merge_small_groups,
    tie_counts_between_groups,
    tie_counts_of_codes,
)
from belonging.graph.silo_report import (
    compare_reports,
    default_betweenness_pivots,
    silo_report,
    with_added_ties,
)
from belonging.graph.ties import as_igraph, keep_igraph, tie_endpoints

__all__ = [
    "AtRiskMember",
    "CommunityGraph",
    "articulation_points",
    "as_igraph",
    "assortativity_of_counts",
    "at_risk_members",
    "at_risk_positions",
    "attribute_assortativity",
    "attribute_codes",
    "attribute_mixing_matrix",
    "average_clustering",
    "belonging_by_position",
    "belonging_scores",
    "betweenness_centrality",
    "betweenness_pivots",
    "biconnected_blocks",
    "bridges",
    "clustering",
    "community_attribute_nmi",
    "community_attribute_shares",
    "compare_reports",
    "component_labels",
    "component_sizes",
    "core_members",
    "default_betweenness_pivots",
    "density",
    "ei_index",
    "ei_index_of_counts",
    "group_ei_index",
    "isolates",
    "keep_igraph",
    "largest_component_share",
    "leiden_communities",
    "mean_score_by_group",
    "member_positions",
    "merge_small_groups",
    "modularity",
    "nmi_of_codes",
    "number_of_components",
    "relabel_by_size",
    "shares_of_codes",
    "silo_report",
    "symmetric_adjacency",
    "tie_counts_between_groups",
    "tie_counts_of_codes",
    "tie_endpoints",
    "top_brokers",
    "triangles",
    "with_added_ties",
]
