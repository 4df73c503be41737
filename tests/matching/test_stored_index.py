"""An index written to files and mapped back serves exactly what the index in memory serves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from belonging.graph import CommunityGraph
from belonging.matching import stored
from belonging.matching.candidates import budget_for, candidate_pool
from belonging.matching.features import pair_features
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile
from belonging.matching.suggest import suggest, suggest_for
from belonging.matching.target import Target
from tests.matching.test_suggest_community import planted_community

SEEDS = [0, 1, 2]


@pytest.fixture(params=SEEDS, scope="module")
def built(request: pytest.FixtureRequest) -> tuple[SuggestionIndex, list[MemberProfile], CommunityGraph]:
    graph, profiles, _ = planted_community(request.param)
    return SuggestionIndex.build(graph, profiles, random_state=request.param), profiles, graph


def _as_tuples(found: list) -> list[tuple]:
    return [(s.member_id, round(s.score, 6), s.reasons, s.crosses_silo) for s in found]


def test_a_mapped_index_suggests_exactly_what_the_built_one_does(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph], tmp_path: Path,
) -> None:
    index, _, _ = built
    stored.save(index, tmp_path / "index")
    mapped = stored.load(tmp_path / "index")
    assert mapped.member_ids[:] == list(index.member_ids)
    for member_id in index.member_ids[::7]:
        assert _as_tuples(suggest(mapped, member_id, bridging_weight=0.5)) == _as_tuples(
            suggest(index, member_id, bridging_weight=0.5))


def test_mapped_arrays_are_read_only_views_of_the_files(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph], tmp_path: Path,
) -> None:
    index, _, _ = built
    stored.save(index, tmp_path / "index")
    mapped = stored.load(tmp_path / "index")
    for array in (mapped.adjacency.indices, mapped.profile_postings.data, mapped.silo, mapped.ties.indptr):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_member_ids_are_found_by_id_and_unknown_ids_are_not(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph], tmp_path: Path,
) -> None:
    index, _, _ = built
    stored.save(index, tmp_path / "index")
    mapped = stored.load(tmp_path / "index")
    wanted = [*index.member_ids[::5], "nobody", "m0000000000000000", ""]
    expected = [index.position.get(m, -1) for m in wanted]
    assert mapped.member_ids.rows(wanted).tolist() == expected  # type: ignore[attr-defined]
    assert "nobody" not in mapped.position
    assert mapped.position[index.member_ids[3]] == 3
    assert [mapped.display_names[k] for k in range(6)] == list(index.display_names[:6])


def test_a_member_described_by_their_profile_gets_what_the_index_would_give_them(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph],
) -> None:
    index, profiles, graph = built
    for profile in profiles[::11]:
        row = index.position[profile.member_id]
        ties = [graph.member_ids[k] for k in graph.neighbours(row)]
        described = Target.from_profile(index, profile, ties)
        held = Target.of(index, row)
        assert described.query_columns.tolist() == held.query_columns.tolist()
        np.testing.assert_allclose(described.query_weights, held.query_weights, rtol=1e-5)
        assert [s.member_id for s in suggest_for(index, described)] == [
            s.member_id for s in suggest(index, profile.member_id)]


def test_a_member_the_index_has_never_seen_draws_candidates_from_their_friends_neighbours(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph],
) -> None:
    index, profiles, graph = built
    friend = int(np.argsort(index.ties.degree)[len(profiles) // 2])
    newcomer = MemberProfile("newcomer", interests=profiles[friend].interests)
    target = Target.from_profile(index, newcomer, [graph.member_ids[friend], "someone the index lacks"])
    assert target.row == -1 and target.neighbours.tolist() == [friend]
    pool = candidate_pool(index, index.ties, target, neighbours=target.neighbours, budget=budget_for(1))
    friends_of_friend = graph.neighbours(friend)
    assert set(friends_of_friend.tolist()) <= set(pool.members.tolist())
    assert friend not in pool.members
    features = pair_features(index, index.ties, target, friends_of_friend, pool.hops)
    assert features.common_neighbours.tolist() == [1] * len(friends_of_friend)
    assert suggest_for(index, target)


def test_an_index_of_the_community_as_it_is_now_reuses_a_builds_models(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph], tmp_path: Path,
) -> None:
    index, profiles, graph = built
    stored.save(index, tmp_path / "index")
    rankers = stored.load_rankers(tmp_path / "index")
    now = SuggestionIndex.build(graph, profiles, rankers=rankers)
    assert now.ranker is rankers[0] and now.cold_ranker is rankers[1]
    member_id = index.member_ids[3]
    assert _as_tuples(suggest(now, member_id)) == _as_tuples(suggest(index, member_id))


def test_models_fitted_on_other_columns_are_not_reused(
    built: tuple[SuggestionIndex, list[MemberProfile], CommunityGraph], tmp_path: Path,
) -> None:
    index, profiles, graph = built
    stored.save(index, tmp_path / "index")
    rankers = stored.load_rankers(tmp_path / "index")
    # A new attribute adds a model column: the models of the build cannot score it.
    moved = [MemberProfile(p.member_id, interests=p.interests, attributes={**p.attributes, "floor": "2"})
             for p in profiles]
    now = SuggestionIndex.build(graph, moved, rankers=rankers)
    assert now.ranker is not rankers[0] and "same:floor" in now.warm_feature_names
    assert list(now.ranker.feature_names) == now.warm_feature_names
